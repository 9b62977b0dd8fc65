// The normalizations' dispatcher. An empty input has an empty output; its statistics and its
// parameter gradients (sums over no values) are zeros, and the running statistics stay as they are.
#include "norm.h"

#include "checks.h"

namespace minidl::kernels {

namespace {

// y like x, mean and rstd of `stats` shape (zeros when x is empty).
NormForward allocate_forward(const Tensor& x, const Shape& stats) {
  const bool empty = x.numel() == 0;
  return {checks::output(x.shape(), x), checks::output(stats, x, empty), checks::output(stats, x, empty)};
}

// The epilogue's residual is like x.
void check_epilogue(const Tensor& x, const NormEpilogue& then, const char* op) {
  if (!then.residual.defined()) return;
  checks::like(x, {&then.residual}, op);
  MINIDL_CHECK(then.residual.shape() == x.shape(), op, ": expected a residual of the input's shape ",
               to_string(x.shape()), ", found ", to_string(then.residual.shape()));
}

// Checks a backward's arguments; dx and dresidual like x, dweight and dbias [C], as asked for
// (zeros when x is empty).
NormGrads prepare_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                           const Tensor& weight, const Tensor& relu_y, bool need_dx, bool need_dparams,
                           bool need_dresidual, const char* op) {
  checks::floating_like(x, {&dy, &mean, &rstd, &weight, &relu_y}, op);
  MINIDL_CHECK(!relu_y.defined() || relu_y.shape() == x.shape(), op, ": expected the ReLU's output of shape ",
               to_string(x.shape()), ", found ", to_string(relu_y.shape()));
  NormGrads grads;
  if (need_dx) grads.dx = checks::output(x.shape(), x);
  if (need_dresidual) grads.dresidual = checks::output(x.shape(), x);
  if (need_dparams) {
    grads.dweight = checks::output({x.size(1)}, x, x.numel() == 0);
    grads.dbias = checks::output({x.size(1)}, x, x.numel() == 0);
  }
  return grads;
}

// A backward kernel runs when x has values and some gradient is asked for.
bool has_work(const Tensor& x, const NormGrads& grads) {
  return x.numel() > 0 && (grads.dx.defined() || grads.dweight.defined() || grads.dresidual.defined());
}

}  // namespace

NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps,
                               const NormEpilogue& then) {
  checks::floating_like(x, {&weight, &bias}, "group_norm");
  check_epilogue(x, then, "group_norm");
  NormForward out = allocate_forward(x, {x.size(0), groups});
  if (x.numel() > 0) group_norm_forward_kernel.at(x.device())(x, weight, bias, groups, eps, then, out);
  return out;
}

NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams,
                              const Tensor& relu_y, bool need_dresidual) {
  NormGrads grads = prepare_backward(dy, x, mean, rstd, weight, relu_y, need_dx, need_dparams, need_dresidual,
                                     "group_norm_backward");
  if (has_work(x, grads)) group_norm_backward_kernel.at(x.device())(dy, x, mean, rstd, weight, groups, relu_y, grads);
  return grads;
}

NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                               Tensor& running_var, bool training, double momentum, double eps,
                               const NormEpilogue& then) {
  checks::floating_like(x, {&weight, &bias, &running_mean, &running_var}, "batch_norm");
  check_epilogue(x, then, "batch_norm");
  NormForward out = allocate_forward(x, {x.size(1)});
  if (x.numel() > 0)
    batch_norm_forward_kernel.at(x.device())(x, weight, bias, running_mean, running_var, training, momentum, eps, then,
                                             out);
  return out;
}

NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, bool need_dx, bool need_dparams,
                              const Tensor& relu_y, bool need_dresidual) {
  NormGrads grads = prepare_backward(dy, x, mean, rstd, weight, relu_y, need_dx, need_dparams, need_dresidual,
                                     "batch_norm_backward");
  if (has_work(x, grads))
    batch_norm_backward_kernel.at(x.device())(dy, x, mean, rstd, weight, training, relu_y, grads);
  return grads;
}

}  // namespace minidl::kernels
