// NumPy .npy files: one tensor per file, for dumping layer outputs and comparing with PyTorch.
// Reads format versions 1.0–3.0, little-endian float32/float64/int32/int64 in C order, and uint8
// (raw pixels), whose values are widened to int32 (minidl has no 8-bit dtype).
#pragma once

#include <string>

#include "tensor.h"

namespace minidl {

/// Loads a .npy file; throws minidl::Error naming the file and the byte offset of what is wrong.
///   Tensor x = load_npy("tests/fixtures/x.npy");
Tensor load_npy(const std::string& path);

/// Writes a cpu tensor as .npy (version 1.0). The file appears complete or not at all: the data
/// goes to a temporary file that is renamed over `path` only once fully written.
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace minidl
