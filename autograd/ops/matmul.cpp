// Matrix product and transpose.
#include "../../core/kernels.h"
#include "../ops.h"

namespace minidl {

// C = A·B  =>  dA = dC·Bᵀ,  dB = Aᵀ·dC
Tensor matmul(const Tensor& a, const Tensor& b) {
  return record("MatmulBackward", kernels::matmul(a, b), {a, b},
                [a = a.detach(), b = b.detach()](const Tensor& g, const Needs& needs) -> Grads {
                  return {needs[0] ? kernels::matmul(g, b, false, true) : Tensor(),
                          needs[1] ? kernels::matmul(a, g, true, false) : Tensor()};
                });
}

Tensor transpose(const Tensor& x) {
  return record("TransposeBackward", kernels::transpose(x), {x},
                [](const Tensor& g, const Needs&) -> Grads { return {kernels::transpose(g)}; });
}

}  // namespace minidl
