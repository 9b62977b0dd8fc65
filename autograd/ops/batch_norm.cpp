// batch_norm: checks, the fused forward kernel (which also moves the running statistics in
// training), and a node that keeps the input, mean and rstd [C] for the backward kernel.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps) {
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

  kernels::NormForward f = kernels::batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps);
  return record("BatchNormBackward", f.y, {x, weight, bias},
                [x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(), mean = f.mean, rstd = f.rstd,
                 training](const Tensor& g, const Needs& needs) -> Grads {
                  kernels::NormGrads d =
                      kernels::batch_norm_backward(g, x, mean, rstd, w, training, needs[0], needs[1] || needs[2]);
                  return {d.dx, d.dweight, d.dbias};
                });
}

}  // namespace minidl
