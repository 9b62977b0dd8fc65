// conv2d: checks, the forward kernel, and a node whose backward runs conv2d_backward; conv2d_add,
// the same with a residual added in the convolution's output pass; and the inference ops
// conv2d_batch_norm_eval (an eval BatchNorm in the convolution's output pass) and
// conv2d_group_norm (a GroupNorm on each sample as the convolution writes it).
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {

namespace {
// The checks both ops make; the window of the convolution.
kernels::Window2d checked_window(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
                                 int64_t padding, const char* op) {
  checks::input(x, op, 4, "[N, C, H, W]");
  MINIDL_CHECK(weight.defined() && weight.dim() == 4, op, ": expected a 4-D weight [K, C, R, S], found ",
               weight.defined() ? to_string(weight.shape()) : "undefined");
  checks::param(weight, x, op, "weight", weight.shape());
  MINIDL_CHECK(x.size(1) == weight.size(1), op, ": input has ", x.size(1), " channels but the weight expects ",
               weight.size(1), " (input ", to_string(x.shape()), ", weight ", to_string(weight.shape()), ")");
  MINIDL_CHECK(weight.size(2) == weight.size(3), op, ": expected a square kernel, found ", to_string(weight.shape()));
  checks::param(bias, x, op, "bias", {weight.size(0)});
  checks::window(op, weight.size(2), stride, padding, x.size(2), x.size(3), /*pad_at_most_half=*/false);
  const int64_t k = weight.size(2);
  return {k, k, stride, stride, padding, padding};
}
// The inference ops record no graph: an Error where gradients are recorded and an input needs one.
void check_no_graph(std::initializer_list<const Tensor*> inputs, const char* op, const char* norm) {
  bool needs_grad = false;
  for (const Tensor* t : inputs) needs_grad = needs_grad || (t->defined() && t->requires_grad());
  MINIDL_CHECK(!(is_grad_enabled() && needs_grad), op,
               ": inference only (it records no graph), found an input that requires grad with gradients recorded "
               "(call it under NoGradGuard, or use conv2d and ", norm, ")");
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  const kernels::Window2d win = checked_window(x, weight, bias, stride, padding, "conv2d");
  Tensor y = kernels::conv2d_forward(x, weight, bias, win);
  return record("Conv2dBackward", y, {x, weight, bias},
                [x = x.detach(), w = weight.detach(), win](const Tensor& g, const Needs& needs) -> Grads {
                  kernels::Conv2dGrads d = kernels::conv2d_backward(g, x, w, win, needs[0], needs[1], needs[2]);
                  return {d.dx, d.dw, d.dbias};
                });
}

Tensor conv2d_add(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                  const Tensor& residual) {
  const kernels::Window2d win = checked_window(x, weight, bias, stride, padding, "conv2d_add");
  checks::param(residual, x, "conv2d_add", "residual", residual.defined() ? residual.shape() : Shape{});
  Tensor y = kernels::conv2d_add_forward(x, weight, bias, win, residual);
  return record("Conv2dAddBackward", y, {x, weight, bias, residual},
                [x = x.detach(), w = weight.detach(), win](const Tensor& g, const Needs& needs) -> Grads {
                  kernels::Conv2dGrads d = kernels::conv2d_backward(g, x, w, win, needs[0], needs[1], needs[2]);
                  return {d.dx, d.dw, d.dbias, needs[3] ? g : Tensor()};
                });
}

Tensor conv2d_batch_norm_eval(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                              const Tensor& running_mean, const Tensor& running_var, const Tensor& bn_weight,
                              const Tensor& bn_bias, double eps, const NormEpilogue& then) {
  const char* op = "conv2d_batch_norm_eval";
  const kernels::Window2d win = checked_window(x, weight, Tensor(), stride, padding, op);
  const Shape channels{weight.size(0)};
  MINIDL_CHECK(running_mean.defined() && running_var.defined(), op,
               ": expected running_mean and running_var (an eval BatchNorm's), found none");
  checks::param(running_mean, x, op, "running_mean", channels);
  checks::param(running_var, x, op, "running_var", channels);
  checks::param(bn_weight, x, op, "bn_weight", channels);
  checks::param(bn_bias, x, op, "bn_bias", channels);
  check_no_graph({&x, &weight, &bn_weight, &bn_bias, &then.residual}, op, "batch_norm");
  return kernels::conv2d_batch_norm_eval(x, weight, win, {bn_weight, bn_bias, running_mean, running_var, eps}, then);
}

Tensor conv2d_group_norm(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding, int64_t num_groups,
                         const Tensor& gn_weight, const Tensor& gn_bias, double eps, const NormEpilogue& then) {
  const char* op = "conv2d_group_norm";
  const kernels::Window2d win = checked_window(x, weight, Tensor(), stride, padding, op);
  const int64_t K = weight.size(0);
  MINIDL_CHECK(num_groups > 0 && K % num_groups == 0, op, ": ", K, " output channels cannot be split into ",
               num_groups, " groups (K % G must be 0; weight ", to_string(weight.shape()), ")");
  checks::param(gn_weight, x, op, "gn_weight", {K});
  checks::param(gn_bias, x, op, "gn_bias", {K});
  MINIDL_CHECK(eps > 0, op, ": expected eps > 0, found ", eps);
  check_no_graph({&x, &weight, &gn_weight, &gn_bias, &then.residual}, op, "group_norm");
  return kernels::conv2d_group_norm(x, weight, win, {gn_weight, gn_bias, num_groups, eps}, then);
}

}  // namespace minidl
