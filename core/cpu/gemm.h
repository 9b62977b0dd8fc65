// GEMM for the CPU kernels (core/cpu/gemm.cpp): row-major, single-threaded, float and double.
//
// minidl parallelizes with OpenMP (over the batch, over rows) and calls GEMM from inside those
// loops, so GEMM itself runs on the calling thread; parallel_gemm splits one large product.
#pragma once

#include <cstdint>
#include <vector>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// Columns per panel of GEMM's packed B operand: two vector registers, so it depends on the
/// vector width the library was compiled for (ask the library, not the includer's flags).
template <typename T>
int64_t gemm_panel_width();

/// Where op(B)[p][j] (k × n) goes in the packed layout of panel width W: panel j / W holds
/// columns [j0, j0 + W) for every p, so element (p, j) sits at (j / W)·(k·W) + p·W + j % W.
/// Columns past n in the last panel must be zero.
inline int64_t packed_b_index(int64_t p, int64_t j, int64_t k, int64_t width) {
  return (j / width) * (k * width) + p * width + j % width;
}

/// Elements a packed k × n operand occupies (n rounded up to whole panels).
inline int64_t packed_b_size(int64_t k, int64_t n, int64_t width) { return k * ((n + width - 1) / width * width); }

/// C[M, N] = alpha · op(A) · op(B) + beta · C, op = transpose when the flag is set.
/// With beta = 0, C's previous contents are ignored (NaN included).
template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb,
          T beta, T* c, int64_t ldc);

/// The same with op(B) already in the packed layout (see packed_b_index).
template <typename T>
void gemm_packed_b(bool ta, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* packed_b,
                   T beta, T* c, int64_t ldc);

/// A[M, K] (row-major) packed for gemm_shifted_b once, so that a product repeated for every sample
/// of a batch (a convolution's weights) does not pack it again each time.
template <typename T>
class ShiftedA {
 public:
  ShiftedA(int64_t m, int64_t k, const T* a, int64_t lda);
  int64_t rows() const { return m_; }
  int64_t depth() const { return k_; }
  const T* packed() const { return data_.data(); }

 private:
  int64_t m_, k_;
  std::vector<T> data_;
};

/// C[M, N] = A · B + beta · C where row p of B (K × N) is the N values at b + offsets[p]: B's rows
/// are windows of one buffer, as a stride-1 convolution's input rows are (conv.cpp), so no
/// im2col copy is made. Reads up to gemm_shifted_b_overread<T>() values past each row's end.
template <typename T>
void gemm_shifted_b(const ShiftedA<T>& a, int64_t n, const T* b, const int64_t* offsets, T beta, T* c, int64_t ldc);
template <typename T>
int64_t gemm_shifted_b_overread();

/// C[i][j] = Σ_{l < len} a[i·lda + l] · b[offsets[j] + l] + beta·C[i][j]: A · Bᵀ with B's rows
/// windows of one buffer (a stride-1 convolution's weight gradient), summed in vector lanes along
/// l and across lanes once at the end. With beta = 0, C's previous contents are ignored.
template <typename T>
void gemm_rows_dot(int64_t m, int64_t n, int64_t len, const T* a, int64_t lda, const T* b, const int64_t* offsets,
                   T beta, T* c, int64_t ldc);

/// C[i][j] = Σ_{l < k} a[offsets[i] + l] · b[j·ldb + l] + beta·C[i][j]: A · Bᵀ with A's rows
/// windows of one buffer — the weight gradient of a stride-1 convolution transposed, dwᵀ =
/// windows · dyᵀ — as a GEMM: B (n × k; n is few, a layer's channels) packed per slab, A's windows
/// read in place by the micro-kernel, the usual register tile. With beta = 0, C's previous
/// contents are ignored.
template <typename T>
void gemm_windows_a(int64_t m, int64_t n, int64_t k, const T* a, const int64_t* offsets, const T* b, int64_t ldb,
                    T beta, T* c, int64_t ldc);

/// gemm split across the OpenMP threads by rows (or by columns when M is small); runs on the
/// calling thread alone when already inside a parallel region.
template <typename T>
void parallel_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                   int64_t ldb, T beta, T* c, int64_t ldc);

/// gemm_packed_b split across the OpenMP threads by rows.
template <typename T>
void parallel_gemm_packed_b(bool ta, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                            const T* packed_b, T beta, T* c, int64_t ldc);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
