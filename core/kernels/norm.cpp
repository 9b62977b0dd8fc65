// The normalizations' dispatcher. An empty input has an empty output; its statistics and its
// parameter gradients (sums over no values) are zeros, and the running statistics stay as they are.
#include "norm.h"

#include "../factory.h"
#include "checks.h"

namespace minidl::kernels {

namespace {

// y like x, mean and rstd of `stats` shape (zeros when x is empty).
NormForward allocate_forward(const Tensor& x, const Shape& stats) {
  auto make = [&](const Shape& shape) {
    return x.numel() == 0 ? zeros(shape, x.dtype(), x.device()) : Tensor::empty(shape, x.dtype(), x.device());
  };
  return {Tensor::empty(x.shape(), x.dtype(), x.device()), make(stats), make(stats)};
}

// dx like x, dweight and dbias [C], as asked for (zeros when x is empty).
NormGrads allocate_grads(const Tensor& x, bool need_dx, bool need_dparams) {
  NormGrads grads;
  if (need_dx) grads.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (need_dparams) {
    const Shape c{x.size(1)};
    grads.dweight = x.numel() == 0 ? zeros(c, x.dtype(), x.device()) : Tensor::empty(c, x.dtype(), x.device());
    grads.dbias = x.numel() == 0 ? zeros(c, x.dtype(), x.device()) : Tensor::empty(c, x.dtype(), x.device());
  }
  return grads;
}

}  // namespace

KernelTable<GroupNormForwardKernel> group_norm_forward_kernel{"group_norm"};
NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps) {
  checks::floating_like(x, {&weight, &bias}, "group_norm");
  NormForward out = allocate_forward(x, {x.size(0), groups});
  if (x.numel() > 0) group_norm_forward_kernel.at(x.device())(x, weight, bias, groups, eps, out);
  return out;
}

KernelTable<GroupNormBackwardKernel> group_norm_backward_kernel{"group_norm_backward"};
NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams) {
  checks::floating_like(x, {&dy, &mean, &rstd, &weight}, "group_norm_backward");
  NormGrads grads = allocate_grads(x, need_dx, need_dparams);
  if (x.numel() > 0 && (need_dx || need_dparams))
    group_norm_backward_kernel.at(x.device())(dy, x, mean, rstd, weight, groups, grads);
  return grads;
}

KernelTable<BatchNormForwardKernel> batch_norm_forward_kernel{"batch_norm"};
NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                               Tensor& running_var, bool training, double momentum, double eps) {
  checks::floating_like(x, {&weight, &bias, &running_mean, &running_var}, "batch_norm");
  NormForward out = allocate_forward(x, {x.size(1)});
  if (x.numel() > 0)
    batch_norm_forward_kernel.at(x.device())(x, weight, bias, running_mean, running_var, training, momentum, eps, out);
  return out;
}

KernelTable<BatchNormBackwardKernel> batch_norm_backward_kernel{"batch_norm_backward"};
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, bool need_dx, bool need_dparams) {
  checks::floating_like(x, {&dy, &mean, &rstd, &weight}, "batch_norm_backward");
  NormGrads grads = allocate_grads(x, need_dx, need_dparams);
  if (x.numel() > 0 && (need_dx || need_dparams))
    batch_norm_backward_kernel.at(x.device())(dy, x, mean, rstd, weight, training, grads);
  return grads;
}

}  // namespace minidl::kernels
