// The matrix product's and the transpose's dispatcher.
#include "matmul.h"

#include "../factory.h"
#include "checks.h"

namespace minidl::kernels {

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  checks::same(a, b, "matmul");
  MINIDL_CHECK(a.dim() == 2 && b.dim() == 2, "matmul: expected two 2-D tensors, found shapes ",
               to_string(a.shape()), " and ", to_string(b.shape()));
  const int64_t m = transpose_a ? a.size(1) : a.size(0), k = transpose_a ? a.size(0) : a.size(1);
  const int64_t kb = transpose_b ? b.size(1) : b.size(0), n = transpose_b ? b.size(0) : b.size(1);
  MINIDL_CHECK(k == kb, "matmul: inner sizes differ: ", to_string(a.shape()), (transpose_a ? "ᵀ" : ""),
               " · ", to_string(b.shape()), (transpose_b ? "ᵀ" : ""), " (", k, " vs ", kb, ")");
  Tensor out = checks::output({m, n}, a, k == 0);  // an inner size of 0: empty sums
  if (out.numel() > 0 && k > 0) matmul_kernel.at(a.device())(a, b, transpose_a, transpose_b, out);
  return out;
}

Tensor transpose(const Tensor& x) {
  checks::floating(x, "transpose");
  MINIDL_CHECK(x.dim() == 2, "transpose: expected a 2-D tensor, found shape ", to_string(x.shape()));
  Tensor out = Tensor::empty({x.size(1), x.size(0)}, x.dtype(), x.device());
  if (out.numel() > 0) transpose_kernel.at(x.device())(x, out);
  return out;
}

}  // namespace minidl::kernels
