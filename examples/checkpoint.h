// Checkpoints of a training run as one generation: the model file (run.safetensors) and its
// training state (run.train.safetensors: optimizer, schedule) always form a consistent pair,
// whatever instant the process is killed at.
//
// Both files record the epoch they end in their metadata. A save writes the new state beside the
// old one (run.train.next.safetensors), moves the old state aside (run.train.prev.safetensors),
// moves the new one in, and only then replaces the model file — the commit point — and drops the
// previous state. Each step is one atomic rename, so after a kill the model file's epoch is
// always that of one of the three state files, and resume_generation picks that one. (A save
// after such a kill first drops a current state newer than the model: drop_uncommitted_state.)
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <minidl/core/atomic_file.h>
#include <minidl/minidl.h>

#include "model_cli.h"

namespace minidl::examples {

/// The state files of `checkpoint`, the current one first, then the new one a save was writing,
/// then the one it had moved aside.
inline std::vector<std::string> training_state_candidates(const std::string& checkpoint) {
  const std::string state = training_state_path(checkpoint);
  const std::string stem = state.substr(0, state.size() - std::string(".safetensors").size());
  return {state, stem + ".next.safetensors", stem + ".prev.safetensors"};
}

/// For the kill test (tests/test_checkpoint_kill.cpp): MINIDL_CHECKPOINT_PAUSE_MS=N sleeps N ms
/// between the steps of a save, widening the windows a kill must hit to leave a half-saved pair.
inline void pause_between_steps() {
  static const int ms = [] {
    const char* v = std::getenv("MINIDL_CHECKPOINT_PAUSE_MS");
    return v ? std::atoi(v) : 0;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

inline void rename_or_fail(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  MINIDL_CHECK(!ec, "train: cannot rename ", from, " to ", to, ": ", ec.message());
}

/// The "epoch" in the metadata of `f` (read from `path`); -1 where there is none, an Error naming
/// the file where it is not a whole number.
inline int64_t metadata_epoch(const SafetensorsFile& f, const std::string& path) {
  const auto it = f.metadata.find("epoch");
  if (it == f.metadata.end()) return -1;
  const std::string& text = it->second;
  MINIDL_CHECK(!text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos, path,
               ": expected a whole number as 'epoch' in its metadata, found \"", text, "\"");
  return std::stoll(text);
}

/// The "epoch" in a checkpoint file's metadata; -1 where the file or the entry is missing.
inline int64_t epoch_of(const std::string& path) {
  return std::filesystem::exists(path) ? metadata_epoch(load_safetensors(path), path) : -1;
}

/// Before a save: a save killed after moving its new state in but before committing the model
/// leaves the current state file newer than the model, whose own state is then the one moved aside
/// (prev). The next save would move that newer file over prev — and, killed before its commit
/// too, leave the model with no state of its epoch (the kill test met this). Such a current state
/// is dropped first: prev stays the model's until the next commit. Returns whether it dropped one.
inline bool drop_uncommitted_state(const std::string& checkpoint) {
  const std::vector<std::string> files = training_state_candidates(checkpoint);
  const std::string &current = files[0], &prev = files[2];
  if (!std::filesystem::exists(current) || !std::filesystem::exists(prev)) return false;
  const int64_t committed = epoch_of(checkpoint);
  if (committed < 0 || epoch_of(current) == committed || epoch_of(prev) != committed) return false;
  std::filesystem::remove(current);
  return true;
}

/// Saves one generation: `state` then `model`, both with "epoch" = `epoch` in their metadata.
inline void save_generation(const std::string& checkpoint, const NamedTensors& model,
                            std::map<std::string, std::string> model_meta, const NamedTensors& state,
                            std::map<std::string, std::string> state_meta, int64_t epoch) {
  model_meta["epoch"] = state_meta["epoch"] = std::to_string(epoch);
  const std::vector<std::string> files = training_state_candidates(checkpoint);
  const std::string &current = files[0], &next = files[1], &prev = files[2];
  drop_uncommitted_state(checkpoint);
  save_safetensors(next, state, state_meta);
  pause_between_steps();
  if (std::filesystem::exists(current)) rename_or_fail(current, prev);
  pause_between_steps();
  rename_or_fail(next, current);
  pause_between_steps();
  save_safetensors(checkpoint, model, model_meta);  // the commit point
  pause_between_steps();
  std::filesystem::remove(prev);
}

/// The model checkpoint and the training state that belongs to it.
struct Generation {
  SafetensorsFile model, state;
  std::string state_path;  // empty when there is none (see resume_generation)
  int64_t epoch = -1;      // the last epoch the pair has finished
};

/// Loads `checkpoint` and the state file of the same epoch. A model without a matching state is
/// an error naming what was found — unless `allow_missing_state`, which returns the model alone
/// (training then starts a new optimizer and schedule, with a warning). Checkpoints from before
/// generations (no "epoch" in the model file) pair with the current state file as they did.
inline Generation resume_generation(const std::string& checkpoint, bool allow_missing_state) {
  Generation g;
  g.model = load_safetensors(checkpoint);
  const int64_t model_epoch = metadata_epoch(g.model, checkpoint);
  const bool model_has_epoch = model_epoch >= 0;
  std::string found;
  for (const std::string& path : training_state_candidates(checkpoint)) {
    if (!std::filesystem::exists(path)) continue;
    SafetensorsFile state = load_safetensors(path);
    const int64_t epoch = metadata_epoch(state, path);
    MINIDL_CHECK(epoch >= 0, path, ": no 'epoch' in its metadata");
    if (!model_has_epoch || epoch == model_epoch) {
      g.state = std::move(state);
      g.state_path = path;
      g.epoch = epoch;
      return g;
    }
    found += (found.empty() ? "" : ", ") + path + " (epoch " + std::to_string(epoch + 1) + ")";
  }
  MINIDL_CHECK(allow_missing_state, "--resume ", checkpoint, ": no training state of its epoch ", model_epoch + 1,
               found.empty() ? std::string(" (no state file at all)") : "; found " + found,
               "; --resume-without-state starts a new optimizer from these weights");
  g.epoch = model_epoch;
  return g;
}

/// Rewrites a CSV log to its header and the rows of epochs up to `last_epoch` (1-based in the
/// file), so that a resumed run appends after them and never repeats a row.
inline void truncate_log(const std::string& path, int64_t last_epoch) {
  std::ifstream in(path);
  if (!in) return;
  std::string header, line, kept;
  std::getline(in, header);
  while (std::getline(in, line))
    if (!line.empty() && std::stoll(line.substr(0, line.find(','))) <= last_epoch) kept += line + "\n";
  in.close();
  write_file_atomically(path, "train", [&](std::ostream& out) { out << header << "\n" << kept; });
}

}  // namespace minidl::examples
