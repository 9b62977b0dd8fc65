// The command-line options every program uses to name a model, and the checkpoint files.
#pragma once

#include <CLI/CLI.hpp>
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

/// Loads a model checkpoint into `model`, naming the file on a mismatch.
inline void load_checkpoint(Module& model, const std::string& path) {
  const SafetensorsFile file = load_safetensors(path);
  try {
    model.load_state_dict(file.tensors);
  } catch (const Error& e) {
    MINIDL_FAIL(path, ": ", e.what());
  }
}

}  // namespace minidl::examples
