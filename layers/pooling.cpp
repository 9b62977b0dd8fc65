#include "pooling.h"

namespace minidl {

std::string Pool2d::extra_repr() const {
  return "kernel_size=" + std::to_string(kernel_size) + ", stride=" + std::to_string(stride) +
         ", padding=" + std::to_string(padding);
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=(" + std::to_string(out_h) + ", " + std::to_string(out_w) + ")";
}

}  // namespace minidl
