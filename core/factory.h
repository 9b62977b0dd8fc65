// Factories: new tensors filled with constants, ranges, random numbers or given values.
// They make leaves: nothing produced here is part of an autograd graph.
#pragma once

#include <vector>

#include "random.h"
#include "tensor.h"

namespace minidl {

/// zeros({2, 3}) -> a float32 2x3 tensor of 0.
Tensor zeros(const Shape& shape, DType dtype = kFloat32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = kFloat32, Device device = Device::cpu());
/// full({2}, 0.5, kFloat64) -> tensor([0.5000, 0.5000], dtype=float64)
Tensor full(const Shape& shape, double value, DType dtype = kFloat32, Device device = Device::cpu());
/// A one-element tensor of shape [] (a scalar).
Tensor scalar_tensor(double value, DType dtype = kFloat32, Device device = Device::cpu());
/// Zeros/ones with the shape, dtype and device of `like`.
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);

/// start, start + step, ... (< end), as in torch.arange. Note: float32 by default, not int64.
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32);
Tensor arange(double end, DType dtype = kFloat32);

/// Uniform in [0, 1).
Tensor rand(const Shape& shape, DType dtype = kFloat32, Generator& gen = default_generator());
/// Standard normal.
Tensor randn(const Shape& shape, DType dtype = kFloat32, Generator& gen = default_generator());

/// Copies `values` into a new tensor of `shape` (default: 1-D); dtype from T.
/// from_vector<double>({1, 2, 3, 4}, {2, 2})
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
template <typename T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}

}  // namespace minidl
