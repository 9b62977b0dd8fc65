// Matrix product through OpenBLAS gemm, and the 2-D transpose.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "cpu.h"

namespace minidl::cpu {

// out[M, N] = op(a) · op(b); a is [M, K] (or [K, M] transposed), b is [K, N] (or [N, K]).
void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out) {
  const int m = static_cast<int>(out.size(0)), n = static_cast<int>(out.size(1));
  const int k = static_cast<int>(transpose_a ? a.size(0) : a.size(1));
  const int lda = static_cast<int>(a.size(1)), ldb = static_cast<int>(b.size(1));
  if (out.numel() == 0) return;
  if (k == 0) {  // an empty sum; BLAS rejects leading dimensions of 0
    std::memset(out.raw_data(), 0, out.nbytes());
    return;
  }
  const auto ta = transpose_a ? CblasTrans : CblasNoTrans, tb = transpose_b ? CblasTrans : CblasNoTrans;
  if (out.dtype() == kFloat64) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a.data<double>(), lda, b.data<double>(), ldb, 0.0,
                out.data<double>(), n);
  } else {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a.data<float>(), lda, b.data<float>(), ldb, 0.0f,
                out.data<float>(), n);
  }
}

void transpose(const Tensor& x, Tensor& out) {
  const int64_t rows = x.size(0), cols = x.size(1);
  constexpr int64_t kTile = 32;  // tiles keep both the read and the write side in cache
  dispatch_floating(x.dtype(), "transpose", [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for if (rows * cols > kParallelGrain)
    for (int64_t i0 = 0; i0 < rows; i0 += kTile)
      for (int64_t j0 = 0; j0 < cols; j0 += kTile)
        for (int64_t i = i0; i < std::min(i0 + kTile, rows); ++i)
          for (int64_t j = j0; j < std::min(j0 + kTile, cols); ++j) po[j * rows + i] = px[i * cols + j];
  });
}

}  // namespace minidl::cpu
