// What a checkpoint says about its model, in the safetensors header's __metadata__ (strings, as
// the format requires; PyTorch's safetensors.torch.load_file reads the tensors and ignores it):
//
//   arch resnet20 · norm gn · groups 8 · in_channels 1 · num_classes 10 · image_size 28
//   mean [0.286] · std [0.353] · class_names ["T-shirt/top", ...] · data fashion-mnist
//
// `train` writes it; infer, grads, gradcheck and finetune build the model from it and normalize
// raw inputs with its statistics. Checkpoints from before it are read with whatever keys they have.
#pragma once

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <minidl/minidl.h>

namespace minidl::examples {

inline std::string fixed_digits(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(x));
  return buf;
}

struct ModelCard {
  std::string arch, norm, data;
  int64_t groups = 0, in_channels = 0, num_classes = 0, image_size = 0;  // 0: not recorded
  std::vector<float> mean, std;                                        // per channel; empty: not recorded
  std::vector<std::string> class_names;

  /// The metadata of a model trained on `d` with `transform`'s normalization.
  static ModelCard of(const std::string& arch, const std::string& norm, int64_t groups, const ImageDataset& d,
                      const Transform& transform, const std::string& data_spec) {
    ModelCard c;
    c.arch = arch;
    c.norm = norm;
    c.groups = groups;
    c.in_channels = d.channels;
    c.num_classes = d.num_classes;
    c.image_size = d.height == d.width ? d.height : 0;
    c.mean = transform.mean;
    c.std = transform.std;
    c.class_names = d.class_names;
    c.data = data_spec;
    return c;
  }

  std::map<std::string, std::string> metadata() const {
    std::map<std::string, std::string> m;
    auto put = [&](const char* key, const std::string& v) {
      if (!v.empty()) m[key] = v;
    };
    auto put_int = [&](const char* key, int64_t v) {
      if (v > 0) m[key] = std::to_string(v);
    };
    put("arch", arch);
    put("norm", norm);
    put("data", data);
    put_int("groups", groups);
    put_int("in_channels", in_channels);
    put_int("num_classes", num_classes);
    put_int("image_size", image_size);
    // Floats as the short decimals they were written as (0.286, not 0.28600001335144043).
    auto decimals = [](const std::vector<float>& v) {
      std::vector<double> out;
      for (float x : v) out.push_back(std::stod(fixed_digits(x)));
      return nlohmann::json(out).dump();
    };
    if (!mean.empty()) m["mean"] = decimals(mean);
    if (!std.empty()) m["std"] = decimals(std);
    if (!class_names.empty()) m["class_names"] = nlohmann::json(class_names).dump();
    return m;
  }

  /// Reads what `metadata` holds; a malformed value is an error naming the file and the key.
  static ModelCard from(const std::map<std::string, std::string>& metadata, const std::string& path) {
    ModelCard c;
    auto text = [&](const char* key) {
      auto it = metadata.find(key);
      return it == metadata.end() ? std::string() : it->second;
    };
    auto integer = [&](const char* key) -> int64_t {
      const std::string v = text(key);
      if (v.empty()) return 0;
      MINIDL_CHECK(v.find_first_not_of("0123456789") == std::string::npos && v.size() < 10, path, ": metadata ", key,
                   ": expected a non-negative integer, found \"", v, "\"");
      return std::stoll(v);
    };
    auto json = [&](const char* key, auto& out) {
      const std::string v = text(key);
      if (v.empty()) return;
      try {
        out = nlohmann::json::parse(v).get<std::decay_t<decltype(out)>>();
      } catch (const std::exception&) {
        MINIDL_FAIL(path, ": metadata ", key, ": expected a JSON list, found \"", v.substr(0, 80), "\"");
      }
    };
    c.arch = text("arch");
    c.norm = text("norm");
    c.data = text("data");
    c.groups = integer("groups");
    c.in_channels = integer("in_channels");
    c.num_classes = integer("num_classes");
    c.image_size = integer("image_size");
    json("mean", c.mean);
    json("std", c.std);
    json("class_names", c.class_names);
    MINIDL_CHECK(c.mean.size() == c.std.size() && (c.mean.empty() || static_cast<int64_t>(c.mean.size()) == c.in_channels),
                 path, ": metadata mean and std: expected one value per input channel (", c.in_channels, "), found ",
                 c.mean.size(), " and ", c.std.size());
    MINIDL_CHECK(c.class_names.empty() || static_cast<int64_t>(c.class_names.size()) == c.num_classes, path,
                 ": metadata class_names: expected ", c.num_classes, " names, found ", c.class_names.size());
    return c;
  }
};

}  // namespace minidl::examples
