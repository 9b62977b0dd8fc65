// linear: y = x·Wᵀ + b, with x's leading dims flattened into the GEMM's rows.
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {

// y = x·Wᵀ + b  =>  dx = dy·W,  dW = dyᵀ·x,  db = Σ_rows dy
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  MINIDL_CHECK(x.defined() && x.dim() >= 1, "linear: expected an input [*, in_features], found ",
               x.defined() ? to_string(x.shape()) : "undefined");
  MINIDL_CHECK(weight.defined() && weight.dim() == 2, "linear: expected a 2-D weight [out, in], found ",
               weight.defined() ? to_string(weight.shape()) : "undefined");
  checks::param(weight, x, "linear", "weight", weight.shape());
  MINIDL_CHECK(x.size(-1) == weight.size(1), "linear: input has ", x.size(-1), " features but the weight expects ",
               weight.size(1), " (input ", to_string(x.shape()), ", weight ", to_string(weight.shape()), ")");
  checks::param(bias, x, "linear", "bias", {weight.size(0)});

  const Tensor x2 = kernels::reshape(x, {-1, weight.size(1)});
  Tensor y = kernels::matmul(x2, weight, false, true);
  if (bias.defined()) y = kernels::binary(kernels::BinaryOp::Add, y, bias);
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  y = kernels::reshape(y, out_shape);
  return record("LinearBackward", y, {x, weight, bias},
                [x2 = x2.detach(), w = weight.detach(), in_shape = x.shape()](const Tensor& g, const Needs& needs) -> Grads {
                  const Tensor g2 = kernels::reshape(g, {-1, w.size(0)});
                  Grads grads(3);
                  if (needs[0]) grads[0] = kernels::reshape(kernels::matmul(g2, w), in_shape);
                  if (needs[1]) grads[1] = kernels::matmul(g2, x2, true, false);
                  if (needs[2]) grads[2] = kernels::sum(g2, {0}, false);
                  return grads;
                });
}

}  // namespace minidl
