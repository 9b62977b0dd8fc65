// The command-line options the programs share — the model, the data, threads and seed, the
// device — and the checkpoint files. Each option is declared here once.
#pragma once

#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <map>
#include <sstream>
#include <string>

#include <minidl/minidl.h>

#include "flags.h"
#include "model_card.h"

namespace minidl::examples {

/// --arch, --norm, --groups (and --in-channels, --num-classes): the model. With a checkpoint that
/// records them (its ModelCard), the flags are optional; one that contradicts it is an error.
struct ModelFlags {
  std::string arch = "resnet20";
  std::string norm = "bn";
  int64_t groups = 0;
  int64_t in_channels = 1;
  int64_t num_classes = 10;

  void add_to(CLI::App& app, bool with_shape) {
    std::string names;
    for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
    arch_flag_ = flags::add(app, "--arch", arch, "model: " + names, flags::one_of(model_names()));
    norm_flag_ = flags::add(app, "--norm", norm, "normalization: bn, gn or none", flags::one_of({"bn", "gn", "none"}));
    groups_flag_ = flags::add(app, "--groups", groups, "GroupNorm groups (0: 8 for CIFAR-shaped models, 32 for resnet18/34/50)",
                              flags::non_negative);
    if (with_shape) {
      in_flag_ = flags::add(app, "--in-channels", in_channels, "input channels (1 for Fashion-MNIST, 3 for CIFAR-10)",
                            flags::positive);
      classes_flag_ = flags::add(app, "--num-classes", num_classes, "classes", flags::positive);
    }
  }
  /// The groups the model is built with: --groups, or the architecture's default; 0 unless GN.
  int64_t resolved_groups() const { return norm == "gn" ? (groups > 0 ? groups : default_groups(arch)) : 0; }
  ModelOptions options() const {
    ModelOptions o;
    o.arch = arch;
    o.norm = parse_norm(norm);
    o.groups = groups;
    o.in_channels = in_channels;
    o.num_classes = num_classes;
    return o;
  }
  /// The model these flags build, its GroupNorm groups checked against its channels (naming --groups).
  std::shared_ptr<Module> build() const {
    if (norm == "gn" && groups > 0) {
      try {
        return build_model(options());
      } catch (const Error& e) {
        MINIDL_FAIL("--groups ", groups, ": ", e.what());
      }
    }
    return build_model(options());
  }
  /// What these flags say of the model, as checkpoint metadata.
  ModelCard card() const {
    ModelCard c;
    c.arch = arch;
    c.norm = norm;
    c.groups = resolved_groups();
    c.in_channels = in_channels;
    c.num_classes = num_classes;
    return c;
  }
  /// Takes each value `card` records and no flag gave; a flag that gives another value is an error
  /// naming both.
  void take_from(const ModelCard& card, const std::string& path) {
    auto take = [&](CLI::Option* flag, const char* name, auto& value, const auto& recorded) {
      if (flag && flag->count() > 0 && value != recorded)
        MINIDL_FAIL("--", name, " ", value, " contradicts ", path, ", whose model has ", name, " ", recorded);
      value = recorded;
    };
    if (!card.arch.empty()) take(arch_flag_, "arch", arch, card.arch);
    if (!card.norm.empty()) take(norm_flag_, "norm", norm, card.norm);
    if (card.in_channels > 0) take(in_flag_, "in-channels", in_channels, card.in_channels);
    if (card.num_classes > 0) take(classes_flag_, "num-classes", num_classes, card.num_classes);
    if (norm == "gn" && card.groups > 0) {
      if (groups_flag_ && groups_flag_->count() > 0 && resolved_groups() != card.groups)
        MINIDL_FAIL("--groups ", resolved_groups(), " contradicts ", path, ", whose model has groups ", card.groups);
      groups = card.groups;
    }
  }

 private:
  CLI::Option *arch_flag_ = nullptr, *norm_flag_ = nullptr, *groups_flag_ = nullptr, *in_flag_ = nullptr,
              *classes_flag_ = nullptr;
};

/// --data, --image-size, --limit-test and --test-split: where the images come from (train,
/// finetune, sweep).
struct DataFlags {
  std::string spec = "fashion-mnist";
  int64_t image_size = 32, limit_test = 0;
  double test_split = 0;
  std::string classes;  // "0-4" or "5,7,9": only these classes, relabeled 0, 1, ...

  void add_to(CLI::App& app, bool with_image_size = true) {
    app.add_option("--data", spec, "fashion-mnist | cifar10:DIR | folder:DIR (DIR/train and DIR/test, or see --test-split)")
        ->capture_default_str();
    if (with_image_size)
      flags::add(app, "--image-size", image_size, "side of folder images after resize + center crop", flags::positive);
    flags::add(app, "--limit-test", limit_test, "evaluate on the first N test images (0: all)", flags::non_negative);
    app.add_option("--test-split", test_split,
                   "for folder:DIR without train/ and test/: hold out this fraction of each class as the test set "
                   "(evenly spaced, no randomness)")
        ->check(flags::fraction);
    app.add_option("--classes", classes,
                   "only these classes, relabeled 0, 1, ... in this order: a range 0-4 or a list 5,7,9 (default: all)");
  }
  /// The classes of --classes (empty: all).
  std::vector<int64_t> class_list() const {
    std::vector<int64_t> out;
    if (classes.empty()) return out;
    auto number = [&](const std::string& t) {
      MINIDL_CHECK(!t.empty() && t.size() < 6 && t.find_first_not_of("0123456789") == std::string::npos,
                   "--classes: expected a range like 0-4 or a list like 5,7,9, found \"", classes, "\"");
      return std::stoll(t);
    };
    const size_t dash = classes.find('-');
    if (dash != std::string::npos) {
      const int64_t first = number(classes.substr(0, dash)), last = number(classes.substr(dash + 1));
      MINIDL_CHECK(first <= last, "--classes: expected a range first-last with first <= last, found \"", classes, "\"");
      for (int64_t c = first; c <= last; ++c) out.push_back(c);
      return out;
    }
    std::stringstream list(classes);
    std::string item;
    while (std::getline(list, item, ',')) out.push_back(number(item));
    return out;
  }
  /// Before anything is loaded: a folder has its test split, or --test-split makes one.
  void check() const {
    class_list();  // a malformed --classes fails before any loading
    if (spec.rfind("folder:", 0) != 0) {
      MINIDL_CHECK(test_split == 0, "--test-split: only for --data folder:DIR, found --data ", spec);
      return;
    }
    const std::string dir = spec.substr(7);
    MINIDL_CHECK(std::filesystem::is_directory(dir), "--data ", spec, ": ", dir, " is not a directory");
    const bool split = std::filesystem::is_directory(dir + "/train") && std::filesystem::is_directory(dir + "/test");
    MINIDL_CHECK(!split || test_split == 0, "--test-split: ", dir, " already has train/ and test/");
    MINIDL_CHECK(split || test_split > 0, "--data ", spec, ": expected ", dir, "/train and ", dir,
                 "/test, or --test-split FRACTION to hold out part of ", dir, " as the test set");
  }
  ImageDataset train() const {
    check();
    ImageDataset d = load_dataset(spec, true, image_size);
    if (test_split > 0) d = split_dataset(d, test_split, /*test=*/false);
    return classes.empty() ? d : select_classes(d, class_list());
  }
  /// The test images, cut to --limit-test.
  ImageDataset test() const {
    check();
    ImageDataset d = load_dataset(spec, false, image_size);
    if (test_split > 0) d = split_dataset(d, test_split, /*test=*/true);
    if (!classes.empty()) d = select_classes(d, class_list());
    MINIDL_CHECK(d.size() > 0, "--test-split ", test_split, ": no test image is held out of ", spec);
    return limit_test > 0 ? d.head(limit_test) : d;
  }
};

/// --threads, --seed and --detect-anomaly.
struct RunFlags {
  int threads = omp_get_max_threads();
  int64_t seed = 0;
  bool detect_anomaly = false;

  void add_to(CLI::App& app, const std::string& seed_help) {
    flags::add(app, "--threads", threads,
               "CPU threads: at most, fewer while other processes keep the CPUs busy (MINIDL_ADAPTIVE_THREADS=0: "
               "exactly)",
               flags::positive);
    app.add_option("--seed", seed, seed_help)->capture_default_str();
    app.add_flag("--detect-anomaly", detect_anomaly,
                 "stop at the first op whose output or gradient is not finite, naming it (slow; also "
                 "MINIDL_DETECT_ANOMALY=1)");
  }
  void apply() const {
    set_num_threads(threads);
    if (detect_anomaly) set_detect_anomaly(true);
  }
};

/// --device.
inline void add_device_option(CLI::App& app, std::string& device) {
  app.add_option("--device", device, "cpu | cuda[:N]")->capture_default_str();
}

/// In a data-parallel job, how a failure ends the program: set by join_job (below) to name the
/// rank and end every rank of the job, which would otherwise wait for this one forever.
inline std::function<void(const std::string& message)>& fatal_error_handler() {
  static std::function<void(const std::string&)> handler;
  return handler;
}

/// Runs a program's body: a minidl::Error or a failed allocation becomes one line on stderr,
/// "name: what went wrong", and exit code `error_code` (never an uncaught exception's abort).
template <typename F>
int run_program(const char* name, F body, int error_code = 1) {
  std::string message;
  try {
    return body();
  } catch (const Error& e) {
    const std::string prefix = std::string(name) + ": ", what = e.what();
    message = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
  } catch (const std::bad_alloc&) {
    message = "out of memory";
  }
  if (fatal_error_handler()) fatal_error_handler()(std::string(name) + ": " + message);
  std::fprintf(stderr, "%s: %s\n", name, message.c_str());
  return error_code;
}

/// The CPU threads each rank of a job takes when --threads is not given: the machine's cores
/// shared among the ranks mpirun started on it.
inline int threads_per_rank() {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const int ranks = local != nullptr ? std::max(1, std::atoi(local)) : 1;
  return std::max(1, omp_get_num_procs() / ranks);
}

/// Joins the data-parallel job this process was started in (mpirun -np N): a group of one
/// without mpirun. In a job of several, a failure on this rank prints "name: rank r of N: ..."
/// and ends every rank — keep the group alive until run_program has returned (declare it
/// outside the body), so that the handler can use it.
inline std::unique_ptr<dist::ProcessGroup> join_job(const char* name) {
  std::unique_ptr<dist::ProcessGroup> group = dist::init_process_group();
  if (group->size() > 1) {
    dist::ProcessGroup* g = group.get();
    const std::string prefix = std::string(name) + ": ";
    fatal_error_handler() = [g, prefix](const std::string& message) {
      g->abort(prefix + "rank " + std::to_string(g->rank()) + " of " + std::to_string(g->size()) + ": " +
               message.substr(message.rfind(prefix, 0) == 0 ? prefix.size() : 0));
    };
  }
  return group;
}

/// A file shipped with minidl, by its path in the source tree ("models/pretrained/x.safetensors"):
/// found under the install prefix (bin/../share/minidl/), in the source tree of a build directory
/// (build/bin/../../), or in the current directory — never a path fixed at build time. Returns
/// the first that exists, else `relative` itself (whose error then names it).
inline std::string shipped_file(const std::string& relative) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  std::vector<fs::path> candidates;
  if (!ec) candidates = {exe_dir / ".." / "share" / "minidl" / relative, exe_dir / ".." / ".." / relative};
  candidates.push_back(relative);
  for (const fs::path& p : candidates)
    if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
  return relative;
}

/// The companion file of a model checkpoint: training state next to run.safetensors is
/// run.train.safetensors.
inline std::string training_state_path(const std::string& checkpoint) {
  const std::string ext = ".safetensors";
  const bool has_ext = checkpoint.size() > ext.size() && checkpoint.compare(checkpoint.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? checkpoint.substr(0, checkpoint.size() - ext.size()) : checkpoint) + ".train.safetensors";
}

/// The device of --device: "cpu", or "cuda:N" where this build has the CUDA backend and sees that GPU.
inline Device parse_device(const std::string& text) {
  const Device device = Device::parse(text);
  MINIDL_CHECK(device.is_cpu() || device.index < cuda::device_count(), "--device ", text,
               ": no such CUDA device is available to this build (cuda::device_count() = ", cuda::device_count(), ")");
  return device;
}

/// Loads the tensors of a checkpoint file (read from `path`) into `model`, naming the file on a
/// mismatch (and what the file holds, when it says).
inline void load_checkpoint(Module& model, const SafetensorsFile& file, const std::string& path) {
  try {
    model.load_state_dict(file.tensors);
  } catch (const Error& e) {
    const ModelCard card = ModelCard::from(file.metadata, path);
    std::string holds;
    if (!card.arch.empty()) holds = " (it holds " + card.arch + " with norm " + card.norm + ")";
    MINIDL_FAIL(path, holds, ": ", e.what());
  }
}
inline void load_checkpoint(Module& model, const std::string& path) { load_checkpoint(model, load_safetensors(path), path); }

/// A model from a checkpoint, and what the checkpoint says about it.
struct LoadedModel {
  std::shared_ptr<Module> model;
  ModelCard card;
};

/// The model of `checkpoint` (its card filling what `flags` leave open, see ModelFlags::take_from)
/// with its weights, on `device`; fresh weights of the flags' model when `checkpoint` is empty.
inline LoadedModel load_model(ModelFlags& flags, const std::string& checkpoint, Device device = Device::cpu()) {
  LoadedModel m;
  if (checkpoint.empty()) {
    m.model = flags.build();
  } else {
    const SafetensorsFile file = load_safetensors(checkpoint);
    m.card = ModelCard::from(file.metadata, checkpoint);
    flags.take_from(m.card, checkpoint);
    m.model = flags.build();
    load_checkpoint(*m.model, file, checkpoint);
  }
  m.model->to(device);
  return m;
}

/// An NCHW float32 batch from .npy, with the model's number of channels.
inline Tensor load_input_batch(const std::string& path, int64_t in_channels) {
  const Tensor x = load_npy(path);
  MINIDL_CHECK(x.dtype() == kFloat32 && x.dim() == 4 && x.size(1) == in_channels, path, ": expected a float32 [N, ",
               in_channels, ", H, W] batch, found ", x.dtype(), " ", to_string(x.shape()));
  return x;
}

}  // namespace minidl::examples
