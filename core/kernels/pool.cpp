// The pooling dispatcher. Backward of an empty output is a zero gradient.
#include "pool.h"

#include "checks.h"

namespace minidl::kernels {

namespace {

Shape pooled_shape(const Tensor& x, const Window2d& win) {
  return {x.size(0), x.size(1), Window2d::out_size(x.size(2), win.kernel_h, win.stride_h, win.pad_h),
          Window2d::out_size(x.size(3), win.kernel_w, win.stride_w, win.pad_w)};
}


}  // namespace

MaxPoolForward max_pool2d_forward(const Tensor& x, const Window2d& win) {
  checks::floating(x, "max_pool2d");
  const Shape shape = pooled_shape(x, win);
  MaxPoolForward out{Tensor::empty(shape, x.dtype(), x.device()), Tensor::empty(shape, kInt64, x.device())};
  if (out.y.numel() > 0) max_pool2d_forward_kernel.at(x.device())(x, win, out);
  return out;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  checks::floating(dy, "max_pool2d_backward");
  checks::like(dy, {&indices}, "max_pool2d_backward", /*same_dtype=*/false);
  Tensor dx = checks::output(x_shape, dy, dy.numel() == 0);
  if (dy.numel() > 0) max_pool2d_backward_kernel.at(dy.device())(dy, indices, dx);
  return dx;
}

Tensor avg_pool2d_forward(const Tensor& x, const Window2d& win) {
  checks::floating(x, "avg_pool2d");
  Tensor y = Tensor::empty(pooled_shape(x, win), x.dtype(), x.device());
  if (y.numel() > 0) avg_pool2d_forward_kernel.at(x.device())(x, win, y);
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Window2d& win) {
  checks::floating(dy, "avg_pool2d_backward");
  Tensor dx = checks::output(x_shape, dy, dy.numel() == 0);
  if (dy.numel() > 0) avg_pool2d_backward_kernel.at(dy.device())(dy, win, dx);
  return dx;
}

Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w) {
  checks::floating(x, "adaptive_avg_pool2d");
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() > 0) adaptive_avg_pool2d_forward_kernel.at(x.device())(x, y);
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
  checks::floating(dy, "adaptive_avg_pool2d_backward");
  Tensor dx = checks::output(x_shape, dy, dy.numel() == 0);
  if (dy.numel() > 0) adaptive_avg_pool2d_backward_kernel.at(dy.device())(dy, dx);
  return dx;
}

}  // namespace minidl::kernels
