// A training run killed (SIGKILL) at random instants — inside an epoch, while a checkpoint is
// written, between the model and its training state — and resumed until it finishes ends with
// exactly the weights of a run that was never interrupted (examples/checkpoint.h: one generation).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "../examples/checkpoint.h"
#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

// Starts build/bin/train with `args`, its output appended to `log`.
pid_t spawn_train(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) dup2(fileno(stdout), fileno(stderr));
    const std::string program = std::string(MINIDL_BIN_DIR) + "/train";
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for the process; returns its exit code, or -signal when a signal ended it.
int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::vector<std::string> train_args(const std::string& checkpoint) {
  return {"--arch", "resnet20", "--norm", "bn", "--epochs", "4", "--batch", "32", "--limit-train", "96", "--limit-test",
          "32", "--lr", "0.05", "--threads", "2", "--seed", "3", "--save", checkpoint};
}

// The model's tensors, bit for bit.
std::vector<std::pair<std::string, std::string>> weights(const std::string& checkpoint) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, t] : load_safetensors(checkpoint).tensors)
    out.emplace_back(name, std::string(static_cast<const char*>(t.raw_data()), t.nbytes()));
  return out;
}

}  // namespace

TEST_CASE("train killed at random instants and resumed ends with the weights of an uninterrupted run") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("kill");
  // Each save pauses between its steps, so that many kills land inside one (examples/checkpoint.h).
  setenv("MINIDL_CHECKPOINT_PAUSE_MS", "60", 1);
  const std::string reference = dir.file("reference.safetensors"), log = dir.file("log.txt");
  const auto start = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_for(spawn_train(train_args(reference), log)) == 0, test::read_bytes(log));
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto expected = weights(reference);

  Generator gen(7);
  int kills = 0;
  for (int trial = 0; trial < 6; ++trial) {
    CAPTURE(trial);
    const std::string checkpoint = dir.file("trial" + std::to_string(trial) + ".safetensors");
    // Up to three kills per trial, each at a random instant of a whole run's length; then
    // resume (or start again, when no checkpoint was committed yet) until the run finishes.
    for (int attempt = 0;; ++attempt) {
      std::vector<std::string> args = train_args(checkpoint);
      if (fs::exists(checkpoint)) {
        args.push_back("--resume");
        args.push_back(checkpoint);
      }
      const pid_t pid = spawn_train(args, log);
      if (attempt < 3) {
        const double delay = rand({1}, kFloat64, gen).item<double>() * run_ms;
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(delay * 1000)));
        kill(pid, SIGKILL);
      }
      const int code = wait_for(pid);
      if (code == -SIGKILL) {
        ++kills;
        continue;
      }
      REQUIRE_MESSAGE(code == 0, test::read_bytes(log));  // a resume never fails
      break;
    }
    CHECK(weights(checkpoint) == expected);
  }
  unsetenv("MINIDL_CHECKPOINT_PAUSE_MS");
  MESSAGE(kills, " kills in 6 trials");
  CHECK(kills > 0);
}

// The state a kill can leave between a save's last rename and its commit — the model of epoch 1
// (0-based 0), the state moved aside of epoch 1, the new state moved in of epoch 2 — is resumed
// from prev; the next save then drops the newer current before moving anything, so that prev stays
// the model's until that save commits (the random kills above once hit a second kill at the same
// step, which left no state of the model's epoch). Nothing is dropped where current is the model's.
TEST_CASE("a save after a kill before the commit keeps the model's own training state until it commits") {
  test::TempDir dir("generation");
  const std::string model = dir.file("run.safetensors");
  const std::vector<std::string> files = examples::training_state_candidates(model);
  const std::string &current = files[0], &prev = files[2];
  const NamedTensors w = {{"w", ones({2})}};
  save_safetensors(model, w, {{"epoch", "0"}});
  save_safetensors(prev, w, {{"epoch", "0"}});
  save_safetensors(current, w, {{"epoch", "1"}});
  const examples::Generation g = examples::resume_generation(model, false);
  CHECK(g.epoch == 0);
  CHECK(g.state_path == prev);
  CHECK(examples::drop_uncommitted_state(model));
  CHECK(!fs::exists(current));
  CHECK(examples::epoch_of(prev) == 0);
  CHECK(!examples::drop_uncommitted_state(model));  // nothing more to drop
  // current of the model's epoch (a save killed before moving the old state aside): kept.
  save_safetensors(current, w, {{"epoch", "0"}});
  save_safetensors(prev, w, {{"epoch", "1"}});
  CHECK(!examples::drop_uncommitted_state(model));
  CHECK(fs::exists(current));
  // A whole save from there: the model and its state of the new epoch, nothing else left.
  examples::save_generation(model, w, {}, w, {}, 1);
  CHECK(examples::epoch_of(model) == 1);
  CHECK(examples::epoch_of(current) == 1);
  CHECK(!fs::exists(prev));
  CHECK(!fs::exists(files[1]));
}

// A checkpoint whose "epoch" is not a whole number (edited, or written by another tool) is an
// Error naming the file, before any training starts — not a std::stoll exception.
TEST_CASE("a checkpoint or training state whose epoch is not a whole number is an Error naming the file") {
  test::TempDir dir("bad_epoch");
  const std::string model = dir.file("run.safetensors");
  const std::string current = examples::training_state_candidates(model)[0];
  const NamedTensors w = {{"w", ones({2})}};
  save_safetensors(model, w, {{"epoch", "two"}});
  CHECK_ERROR(examples::resume_generation(model, false),
              model + ": expected a whole number as 'epoch' in its metadata, found \"two\"");
  CHECK_ERROR(examples::epoch_of(model), "expected a whole number as 'epoch'");
  save_safetensors(model, w, {{"epoch", "0"}});
  save_safetensors(current, w, {{"epoch", "-1"}});
  CHECK_ERROR(examples::resume_generation(model, false),
              current + ": expected a whole number as 'epoch' in its metadata, found \"-1\"");
}
