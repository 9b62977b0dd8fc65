// The command-line options the programs share — the model, the data, threads and seed, the
// device — and the checkpoint files. Each option is declared here once.
#pragma once

#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>
#include <map>
#include <string>

#include <minidl/minidl.h>

namespace minidl::examples {

struct ModelFlags {
  std::string arch = "resnet20";
  std::string norm = "bn";
  int64_t groups = 0;
  int64_t in_channels = 1;
  int64_t num_classes = 10;

  void add_to(CLI::App& app, bool with_shape) {
    std::string names;
    for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
    app.add_option("--arch", arch, "model: " + names)->capture_default_str();
    app.add_option("--norm", norm, "normalization: bn, gn or none")->capture_default_str();
    app.add_option("--groups", groups, "GroupNorm groups (0: 8 for CIFAR-shaped models, 32 for resnet18/34/50)")
        ->capture_default_str();
    if (with_shape) {
      app.add_option("--in-channels", in_channels, "input channels (1 for Fashion-MNIST, 3 for CIFAR-10)")->capture_default_str();
      app.add_option("--num-classes", num_classes, "classes")->capture_default_str();
    }
  }
  ModelOptions options() const {
    ModelOptions o;
    o.arch = arch;
    o.norm = parse_norm(norm);
    o.groups = groups;
    o.in_channels = in_channels;
    o.num_classes = num_classes;
    return o;
  }
  std::map<std::string, std::string> metadata() const {
    return {{"arch", arch}, {"norm", norm}, {"groups", std::to_string(groups)}, {"in_channels", std::to_string(in_channels)},
            {"num_classes", std::to_string(num_classes)}};
  }
};

/// --data, --image-size and --limit-test: where the images come from (train, finetune, sweep).
struct DataFlags {
  std::string spec = "fashion-mnist";
  int64_t image_size = 32, limit_test = 0;

  void add_to(CLI::App& app, bool with_image_size = true) {
    app.add_option("--data", spec, "fashion-mnist | cifar10:DIR | folder:DIR")->capture_default_str();
    if (with_image_size)
      app.add_option("--image-size", image_size, "side of folder images after resize + center crop")->capture_default_str();
    app.add_option("--limit-test", limit_test, "evaluate on the first N test images (0: all)")->capture_default_str();
  }
  ImageDataset train() const { return load_dataset(spec, true, image_size); }
  /// The test images, cut to --limit-test.
  ImageDataset test() const {
    ImageDataset d = load_dataset(spec, false, image_size);
    return limit_test > 0 ? d.head(limit_test) : d;
  }
};

/// --threads, --seed and --detect-anomaly.
struct RunFlags {
  int threads = omp_get_max_threads();
  int64_t seed = 0;
  bool detect_anomaly = false;

  void add_to(CLI::App& app, const std::string& seed_help) {
    app.add_option("--threads", threads, "CPU threads")->capture_default_str();
    app.add_option("--seed", seed, seed_help)->capture_default_str();
    app.add_flag("--detect-anomaly", detect_anomaly,
                 "stop at the first op whose output or gradient is not finite, naming it (slow; also "
                 "MINIDL_DETECT_ANOMALY=1)");
  }
  void apply() const {
    omp_set_num_threads(threads);
    if (detect_anomaly) set_detect_anomaly(true);
  }
};

/// --device.
inline void add_device_option(CLI::App& app, std::string& device) {
  app.add_option("--device", device, "cpu | cuda[:N]")->capture_default_str();
}

/// Runs a program's body: a minidl::Error or a failed allocation becomes one line on stderr,
/// "name: what went wrong", and exit code `error_code` (never an uncaught exception's abort).
template <typename F>
int run_program(const char* name, F body, int error_code = 1) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory\n", name);
  }
  return error_code;
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

/// Loads the tensors of a checkpoint file (read from `path`) into `model`, naming the file on a mismatch.
inline void load_checkpoint(Module& model, const SafetensorsFile& file, const std::string& path) {
  try {
    model.load_state_dict(file.tensors);
  } catch (const Error& e) {
    MINIDL_FAIL(path, ": ", e.what());
  }
}
inline void load_checkpoint(Module& model, const std::string& path) { load_checkpoint(model, load_safetensors(path), path); }

/// The model `flags` describe, with the checkpoint's weights (fresh ones when `checkpoint` is
/// empty), on `device`.
inline std::shared_ptr<Module> load_model(const ModelFlags& flags, const std::string& checkpoint,
                                          Device device = Device::cpu()) {
  std::shared_ptr<Module> model = build_model(flags.options());
  if (!checkpoint.empty()) load_checkpoint(*model, checkpoint);
  model->to(device);
  return model;
}

/// An NCHW float32 batch from .npy, with the model's number of channels.
inline Tensor load_input_batch(const std::string& path, int64_t in_channels) {
  const Tensor x = load_npy(path);
  MINIDL_CHECK(x.dtype() == kFloat32 && x.dim() == 4 && x.size(1) == in_channels, path, ": expected a float32 [N, ",
               in_channels, ", H, W] batch, found ", x.dtype(), " ", to_string(x.shape()));
  return x;
}

}  // namespace minidl::examples
