// group_norm: checks, the fused forward kernel (statistics + normalize + affine), and a node
// that keeps only the input, mean and rstd [N, G] for the backward kernel.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"
#include "norm_node.h"

namespace minidl {

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps,
                  const NormEpilogue& then) {
  MINIDL_CHECK(x.defined() && x.dim() >= 2, "group_norm: expected an input [N, C, *], found ",
               x.defined() ? to_string(x.shape()) : "undefined");
  checks::floating(x, "group_norm");
  const int64_t C = x.size(1);
  MINIDL_CHECK(num_groups > 0 && C % num_groups == 0, "group_norm: ", C, " channels cannot be split into ",
               num_groups, " groups (C % G must be 0; input ", to_string(x.shape()), ")");
  checks::param(weight, x, "group_norm", "weight", {C});
  checks::param(bias, x, "group_norm", "bias", {C});
  MINIDL_CHECK(eps > 0, "group_norm: expected eps > 0, found ", eps);

  checks::param(then.residual, x, "group_norm", "residual", x.shape());
  kernels::NormForward f = kernels::group_norm_forward(x, weight, bias, num_groups, eps, then);
  return record_norm("GroupNormBackward", f, x, weight, bias, then,
                     [num_groups](const Tensor& g, const Tensor& xs, const Tensor& mean, const Tensor& rstd,
                                  const Tensor& w, bool need_dx, bool need_dparams, const Tensor& relu_y,
                                  bool need_dresidual) {
                       return kernels::group_norm_backward(g, xs, mean, rstd, w, num_groups, need_dx, need_dparams,
                                                           relu_y, need_dresidual);
                     });
}

}  // namespace minidl
