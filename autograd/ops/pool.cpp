// Pooling ops: max (keeps the argmax indices for backward), average, adaptive average.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {
namespace {
kernels::Window2d square_window(const Tensor& x, const char* op, int64_t kernel, int64_t stride, int64_t padding) {
  checks::input(x, op, 4, "[N, C, H, W]");
  if (stride == 0) stride = kernel;  // PyTorch's default: non-overlapping windows
  checks::window(op, kernel, stride, padding, x.size(2), x.size(3), /*pad_at_most_half=*/true);
  return {kernel, kernel, stride, stride, padding, padding};
}
}  // namespace

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const kernels::Window2d win = square_window(x, "max_pool2d", kernel, stride, padding);
  kernels::MaxPoolForward f = kernels::max_pool2d_forward(x, win);
  return record("MaxPool2dBackward", f.y, {x}, [indices = f.indices, shape = x.shape()](const Tensor& g, const Needs&) -> Grads {
    return {kernels::max_pool2d_backward(g, indices, shape)};
  });
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const kernels::Window2d win = square_window(x, "avg_pool2d", kernel, stride, padding);
  return record("AvgPool2dBackward", kernels::avg_pool2d_forward(x, win), {x},
                [shape = x.shape(), win](const Tensor& g, const Needs&) -> Grads {
                  return {kernels::avg_pool2d_backward(g, shape, win)};
                });
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  checks::input(x, "adaptive_avg_pool2d", 4, "[N, C, H, W]");
  MINIDL_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d: expected an output size > 0, found ", out_h, "x", out_w);
  MINIDL_CHECK(x.size(2) > 0 && x.size(3) > 0, "adaptive_avg_pool2d: expected a non-empty image, found shape ",
               to_string(x.shape()));
  return record("AdaptiveAvgPool2dBackward", kernels::adaptive_avg_pool2d_forward(x, out_h, out_w), {x},
                [shape = x.shape()](const Tensor& g, const Needs&) -> Grads {
                  return {kernels::adaptive_avg_pool2d_backward(g, shape)};
                });
}

}  // namespace minidl
