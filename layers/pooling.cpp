#include "pooling.h"

namespace minidl {
namespace {
std::string window_repr(int64_t kernel, int64_t stride, int64_t padding) {
  return "kernel_size=" + std::to_string(kernel) + ", stride=" + std::to_string(stride) +
         ", padding=" + std::to_string(padding);
}
}  // namespace

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride_, int64_t padding_)
    : kernel_size(kernel), stride(stride_ == 0 ? kernel : stride_), padding(padding_) {}
std::string MaxPool2d::extra_repr() const { return window_repr(kernel_size, stride, padding); }

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride_, int64_t padding_)
    : kernel_size(kernel), stride(stride_ == 0 ? kernel : stride_), padding(padding_) {}
std::string AvgPool2d::extra_repr() const { return window_repr(kernel_size, stride, padding); }

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=(" + std::to_string(out_h) + ", " + std::to_string(out_w) + ")";
}

}  // namespace minidl
