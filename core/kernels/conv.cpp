// The convolution's dispatcher.
#include "conv.h"

#include "checks.h"
#include "elementwise.h"
#include "norm.h"

namespace minidl::kernels {

namespace {
// y's shape [N, K, P, Q] for x [N, C, H, W] and w [K, C, R, S].
Shape output_shape(const Tensor& x, const Tensor& w, const Window2d& win) {
  return {x.size(0), w.size(0), Window2d::out_size(x.size(2), w.size(2), win.stride_h, win.pad_h),
          Window2d::out_size(x.size(3), w.size(3), win.stride_w, win.pad_w)};
}
// The fused ops' optional residual: undefined, or of the output's shape.
void check_residual(const NormEpilogue& then, const Shape& shape, const char* op) {
  MINIDL_CHECK(!then.residual.defined() || then.residual.shape() == shape, op,
               ": expected a residual of the output's shape ", to_string(shape), ", found ",
               to_string(then.residual.shape()));
}
}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win) {
  checks::floating_like(x, {&w, &bias}, "conv2d");
  Tensor y = Tensor::empty(output_shape(x, w, win), x.dtype(), x.device());
  if (y.numel() > 0) conv2d_forward_kernel.at(x.device())(x, w, bias, win, y);
  return y;
}

Tensor conv2d_batch_norm_eval(const Tensor& x, const Tensor& w, const Window2d& win, const BatchNormEval& bn,
                              const NormEpilogue& then) {
  checks::floating_like(x, {&w, &bn.weight, &bn.bias, &bn.running_mean, &bn.running_var, &then.residual},
                        "conv2d_batch_norm_eval");
  MINIDL_CHECK(bn.running_mean.defined() && bn.running_var.defined(),
               "conv2d_batch_norm_eval: expected the running statistics, found none");
  const Shape shape = output_shape(x, w, win);
  check_residual(then, shape, "conv2d_batch_norm_eval");
  if (!conv2d_batch_norm_eval_kernel.has(x.device())) {
    Tensor mean = bn.running_mean, var = bn.running_var;  // handles; eval does not write them
    return batch_norm_forward(conv2d_forward(x, w, Tensor(), win), bn.weight, bn.bias, mean, var,
                              /*training=*/false, 0.0, bn.eps, then)
        .y;
  }
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  if (y.numel() > 0) conv2d_batch_norm_eval_kernel.at(x.device())(x, w, win, bn, then, y);
  return y;
}

Tensor conv2d_group_norm(const Tensor& x, const Tensor& w, const Window2d& win, const GroupNormParams& gn,
                         const NormEpilogue& then) {
  checks::floating_like(x, {&w, &gn.weight, &gn.bias, &then.residual}, "conv2d_group_norm");
  const Shape shape = output_shape(x, w, win);
  MINIDL_CHECK(gn.groups > 0 && shape[1] % gn.groups == 0, "conv2d_group_norm: expected groups dividing the ",
               shape[1], " output channels, found ", gn.groups);
  check_residual(then, shape, "conv2d_group_norm");
  if (!conv2d_group_norm_kernel.has(x.device()))
    return group_norm_forward(conv2d_forward(x, w, Tensor(), win), gn.weight, gn.bias, gn.groups, gn.eps, then).y;
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  if (y.numel() > 0) conv2d_group_norm_kernel.at(x.device())(x, w, win, gn, then, y);
  return y;
}

Tensor conv2d_add_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win,
                          const Tensor& residual) {
  checks::floating_like(x, {&w, &bias, &residual}, "conv2d_add");
  const Shape shape = output_shape(x, w, win);
  MINIDL_CHECK(residual.defined() && residual.shape() == shape, "conv2d_add: expected a residual of the output's ",
               "shape ", to_string(shape), ", found ", residual.defined() ? to_string(residual.shape()) : "none");
  if (!conv2d_add_forward_kernel.has(x.device()))  // CUDA: the two ops
    return binary(BinaryOp::Add, conv2d_forward(x, w, bias, win), residual);
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  if (y.numel() > 0) conv2d_add_forward_kernel.at(x.device())(x, w, bias, win, residual, y);
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win, bool need_dx,
                            bool need_dw, bool need_dbias) {
  checks::floating_like(x, {&dy, &w}, "conv2d_backward");
  // Sums over no values (an empty batch) are zero gradients.
  const bool empty = x.numel() == 0 || dy.numel() == 0;
  Conv2dGrads grads;
  if (need_dx) grads.dx = checks::output(x.shape(), x, empty);
  if (need_dw) grads.dw = checks::output(w.shape(), x, empty);
  if (need_dbias) grads.dbias = checks::output({w.size(0)}, x, empty);
  if (!empty && (need_dx || need_dw || need_dbias)) conv2d_backward_kernel.at(x.device())(dy, x, w, win, grads);
  return grads;
}

}  // namespace minidl::kernels
