#include "conv2d.h"

#include "../core/factory.h"
#include "init.h"

namespace minidl {

Conv2d::Conv2d(int64_t in_channels_, int64_t out_channels_, int64_t kernel_size_, int64_t stride_, int64_t padding_,
               bool with_bias)
    : in_channels(in_channels_), out_channels(out_channels_), kernel_size(kernel_size_), stride(stride_),
      padding(padding_) {
  MINIDL_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && stride > 0 && padding >= 0,
               "Conv2d: expected positive channels, kernel_size and stride and padding >= 0, found (", in_channels,
               ", ", out_channels, ", kernel_size=", kernel_size, ", stride=", stride, ", padding=", padding, ")");
  const int64_t fan_in = in_channels * kernel_size * kernel_size;
  weight = Tensor::empty({out_channels, in_channels, kernel_size, kernel_size});
  init::kaiming_uniform_(weight, fan_in);
  register_parameter("weight", weight);
  if (with_bias) {
    bias = Tensor::empty({out_channels});
    init::bias_uniform_(bias, fan_in);
    register_parameter("bias", bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, stride, padding); }

std::string Conv2d::extra_repr() const {
  auto pair = [](int64_t v) { return "(" + std::to_string(v) + ", " + std::to_string(v) + ")"; };
  return std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", kernel_size=" + pair(kernel_size) +
         ", stride=" + pair(stride) + (padding ? ", padding=" + pair(padding) : "") + (bias.defined() ? "" : ", bias=False");
}

}  // namespace minidl
