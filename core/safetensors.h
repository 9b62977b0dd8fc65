// safetensors files (the format of Hugging Face's safetensors): an 8-byte little-endian header
// length, a JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
// "__metadata__": {"key": "value"}}, then the tensors' bytes. Model checkpoints are state dicts
// in this format, so PyTorch loads them with safetensors.torch.load_file.
#pragma once

#include <map>
#include <string>

#include "tensor.h"

namespace minidl {

struct SafetensorsFile {
  NamedTensors tensors;                         // in the file's order
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

/// Reads every tensor. F32, F64, I64 and I32 load as float32, float64, int64, int32; F16 and BF16
/// are converted to float32. Anything else, or a malformed file (header size, JSON, offsets out
/// of bounds or overlapping, size disagreeing with shape), throws an Error naming the file.
SafetensorsFile load_safetensors(const std::string& path);

/// Writes cpu tensors (float32, float64, int64, int32) and string metadata. The file appears
/// complete or not at all: it is written to a temporary file renamed over `path`.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace minidl
