// conv2d: checks, the forward kernel, and a node whose backward runs conv2d_backward.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  checks::input(x, "conv2d", 4, "[N, C, H, W]");
  MINIDL_CHECK(weight.defined() && weight.dim() == 4, "conv2d: expected a 4-D weight [K, C, R, S], found ",
               weight.defined() ? to_string(weight.shape()) : "undefined");
  checks::param(weight, x, "conv2d", "weight", weight.shape());
  MINIDL_CHECK(x.size(1) == weight.size(1), "conv2d: input has ", x.size(1), " channels but the weight expects ",
               weight.size(1), " (input ", to_string(x.shape()), ", weight ", to_string(weight.shape()), ")");
  MINIDL_CHECK(weight.size(2) == weight.size(3), "conv2d: expected a square kernel, found ", to_string(weight.shape()));
  checks::param(bias, x, "conv2d", "bias", {weight.size(0)});
  checks::window("conv2d", weight.size(2), stride, padding, x.size(2), x.size(3), /*pad_at_most_half=*/false);

  const int64_t k = weight.size(2);
  const kernels::Window2d win{k, k, stride, stride, padding, padding};
  Tensor y = kernels::conv2d_forward(x, weight, bias, win);
  return record("Conv2dBackward", y, {x, weight, bias},
                [x = x.detach(), w = weight.detach(), win](const Tensor& g, const Needs& needs) -> Grads {
                  kernels::Conv2dGrads d = kernels::conv2d_backward(g, x, w, win, needs[0], needs[1], needs[2]);
                  return {d.dx, d.dw, d.dbias};
                });
}

}  // namespace minidl
