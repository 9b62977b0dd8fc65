// Pooling layers over [N, C, H, W]: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.
#pragma once

#include "module.h"

namespace minidl {

class MaxPool2d : public Module {
 public:
  /// stride 0 means stride = kernel_size, as in PyTorch.
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel_size, stride, padding); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  const int64_t kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel_size, stride, padding); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  const int64_t kernel_size, stride, padding;
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
