// Pooling layers over [N, C, H, W]: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.
#pragma once

#include "module.h"

namespace minidl {

/// What MaxPool2d and AvgPool2d share: a square window (PyTorch's _MaxPoolNd / _AvgPoolNd).
class Pool2d : public Module {
 public:
  /// stride 0 means stride = kernel_size, as in PyTorch.
  explicit Pool2d(int64_t kernel, int64_t stride_or_0 = 0, int64_t pad = 0)
      : kernel_size(kernel), stride(stride_or_0 == 0 ? kernel : stride_or_0), padding(pad) {}
  std::string extra_repr() const override;
  const int64_t kernel_size, stride, padding;
};

class MaxPool2d : public Pool2d {
 public:
  using Pool2d::Pool2d;  // MaxPool2d(kernel_size, stride = 0, padding = 0)
  Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel_size, stride, padding); }
  std::string type_name() const override { return "MaxPool2d"; }
};

class AvgPool2d : public Pool2d {
 public:
  using Pool2d::Pool2d;  // AvgPool2d(kernel_size, stride = 0, padding = 0)
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel_size, stride, padding); }
  std::string type_name() const override { return "AvgPool2d"; }
};

class AdaptiveAvgPool2d : public Module {
 public:
  /// AdaptiveAvgPool2d() pools every channel to 1x1 (global average pooling).
  explicit AdaptiveAvgPool2d(int64_t h = 1, int64_t w = 1) : out_h(h), out_w(w) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, out_h, out_w); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  const int64_t out_h, out_w;
};

}  // namespace minidl
