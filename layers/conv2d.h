// Conv2d: a 2-D convolution layer over [N, C, H, W] (torch.nn.Conv2d with square kernels).
#pragma once

#include "module.h"

namespace minidl {

class Conv2d : public Module {
 public:
  /// weight [out, in, k, k] and bias [out] initialized as in PyTorch (kaiming-uniform).
  ///   auto conv = std::make_shared<Conv2d>(3, 16, 3, /*stride=*/1, /*padding=*/1, /*bias=*/false);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  const int64_t in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight, bias;  // bias undefined when built with bias = false
};

}  // namespace minidl
