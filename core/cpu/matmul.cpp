// Matrix product (our GEMM, split across threads) and the 2-D transpose.

#include <algorithm>
#include <cstring>

#include "copy.h"
#include "gemm.h"
#include "../kernels/matmul.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

namespace {
// Rows or columns of a product split between threads (parallel.h) from 2¹⁸ multiply-adds on.
template <typename F>
void split(int64_t extent, int64_t work, F part) {
  split_range(extent, work, int64_t{1} << 18, part);
}
}  // namespace

template <typename T>
void parallel_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                   int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m >= n) {  // rows of op(A) and of C
    split(m, m * n * k, [&](int64_t i0, int64_t i1) {
      gemm(ta, tb, i1 - i0, n, k, alpha, ta ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc);
    });
  } else {  // columns of op(B) and of C
    split(n, m * n * k, [&](int64_t j0, int64_t j1) {
      gemm(ta, tb, m, j1 - j0, k, alpha, a, lda, tb ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc);
    });
  }
}

template <typename T>
void parallel_gemm_packed_b(bool ta, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                            const T* packed_b, T beta, T* c, int64_t ldc) {
  split(m, m * n * k, [&](int64_t i0, int64_t i1) {
    gemm_packed_b(ta, i1 - i0, n, k, alpha, ta ? a + i0 : a + i0 * lda, lda, packed_b, beta, c + i0 * ldc, ldc);
  });
}

template void parallel_gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                   int64_t, float, float*, int64_t);
template void parallel_gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                    const double*, int64_t, double, double*, int64_t);
template void parallel_gemm_packed_b<float>(bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                            float, float*, int64_t);
template void parallel_gemm_packed_b<double>(bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                             const double*, double, double*, int64_t);

namespace {

// out[M, N] = op(a) · op(b); a is [M, K] (or [K, M] transposed), b is [K, N] (or [N, K]).
void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out) {
  const int64_t m = out.size(0), n = out.size(1), k = transpose_a ? a.size(0) : a.size(1);
  dispatch_floating(out.dtype(), "matmul", [&](auto v) {
    using T = decltype(v);
    parallel_gemm<T>(transpose_a, transpose_b, m, n, k, T(1), a.data<T>(), a.size(1), b.data<T>(), b.size(1), T(0),
                     out.data<T>(), n);
  });
}
MINIDL_REGISTER_KERNEL(matmul_kernel, CPU, matmul);

void transpose(const Tensor& x, Tensor& out) {
  dispatch_floating(x.dtype(), "transpose", [&](auto v) {
    using T = decltype(v);
    cpu::transpose(x.data<T>(), x.size(0), x.size(1), out.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(transpose_kernel, CPU, transpose);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
