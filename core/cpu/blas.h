// Typed, single-threaded GEMM on top of OpenBLAS.
//
// minidl parallelizes with OpenMP (over the batch, over rows) and calls the BLAS from inside
// those loops, so the BLAS itself runs single-threaded: two thread pools fighting over the
// same cores cost more than they give.
#pragma once

#include <cblas.h>

#include <cstdint>

namespace minidl::cpu {

/// Makes OpenBLAS single-threaded, once per process.
void use_single_threaded_blas();

/// C[M, N] += ... split across the OpenMP threads by rows (or by columns when M is small).
template <typename T>
void parallel_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                   int64_t ldb, T beta, T* c, int64_t ldc);

/// C[M, N] = alpha · op(A) · op(B) + beta · C, row-major, op = transpose when the flag is set.
inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  use_single_threaded_blas();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                 const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  use_single_threaded_blas();
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

}  // namespace minidl::cpu
