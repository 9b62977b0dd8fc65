// batch_norm: checks, the fused forward kernel (which also moves the running statistics in
// training), and a node that keeps the input, mean and rstd [C] for the backward kernel.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"
#include "norm_node.h"

namespace minidl {

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps, const NormEpilogue& then) {
  MINIDL_CHECK(x.defined() && x.dim() >= 2, "batch_norm: expected an input [N, C, *], found ",
               x.defined() ? to_string(x.shape()) : "undefined");
  checks::floating(x, "batch_norm");
  const int64_t C = x.size(1);
  checks::param(weight, x, "batch_norm", "weight", {C});
  checks::param(bias, x, "batch_norm", "bias", {C});
  checks::param(running_mean, x, "batch_norm", "running_mean", {C});
  checks::param(running_var, x, "batch_norm", "running_var", {C});
  MINIDL_CHECK(running_mean.defined() == running_var.defined(),
               "batch_norm: expected running_mean and running_var both defined or both undefined");
  MINIDL_CHECK(training || running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var");
  // One value per channel has no variance; PyTorch refuses this too.
  MINIDL_CHECK(!training || x.numel() / C > 1, "batch_norm: expected more than 1 value per channel when training, ",
               "found input of shape ", to_string(x.shape()));
  MINIDL_CHECK(eps > 0, "batch_norm: expected eps > 0, found ", eps);

  checks::param(then.residual, x, "batch_norm", "residual", x.shape());
  kernels::NormForward f =
      kernels::batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps, then);
  return record_norm("BatchNormBackward", f, x, weight, bias, then,
                     [training](const Tensor& g, const Tensor& xs, const Tensor& mean, const Tensor& rstd,
                                const Tensor& w, bool need_dx, bool need_dparams, const Tensor& relu_y,
                                bool need_dresidual) {
                       return kernels::batch_norm_backward(g, xs, mean, rstd, w, training, need_dx, need_dparams,
                                                           relu_y, need_dresidual);
                     });
}

}  // namespace minidl
