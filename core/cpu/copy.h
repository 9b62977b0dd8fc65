// Copies the CPU kernels share: short row copies (the convolutions' padded copies, Winograd's tile
// gathers), 4 x 4 transposes of vectors (Winograd's tile gathers and scatters, GEMM's transposed
// packing) and the 2-D transpose (the transpose op, the convolutions' transposed weight gradient).
#pragma once

#include <algorithm>
#include <cstdint>

#include "capability.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

// n values from src to dst. The rows copied by the convolutions are short (4 to 64 values), and a
// call to memcpy for each (what std::copy became) cost more than the copying: whole vectors
// inline instead, the last one ending at n (overlapping the one before); half vectors from L/2.
template <typename T>
inline void copy_short(const T* src, int64_t n, T* dst) {
  constexpr int64_t L = 32 / sizeof(T);
  typedef T Chunk __attribute__((vector_size(32), aligned(sizeof(T)), may_alias));
  typedef T Half __attribute__((vector_size(16), aligned(sizeof(T)), may_alias));
  auto chunk = [&](int64_t j) { *reinterpret_cast<Chunk*>(dst + j) = *reinterpret_cast<const Chunk*>(src + j); };
  auto half = [&](int64_t j) { *reinterpret_cast<Half*>(dst + j) = *reinterpret_cast<const Half*>(src + j); };
  if (n >= L) {
    for (int64_t j = 0; j + L < n; j += L) chunk(j);
    chunk(n - L);
  } else if (n >= L / 2) {
    half(0);
    half(n - L / 2);
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
  }
}

// Four values of T as one vector, loaded from and stored to any T-aligned address.
// (Four doubles on the generic path are two SSE registers: GCC warns, wherever the templates are
// instantiated, that such a vector would be passed differently with AVX — which does not matter
// to these inline functions, compiled alike in every file of one path.)
#pragma GCC diagnostic ignored "-Wpsabi"
template <typename T>
struct Quad {
  typedef T type __attribute__((vector_size(4 * sizeof(T))));
  typedef T unaligned __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T)), may_alias));
  static type load(const T* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(T* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};

// q[i][j] ← q[j][i], in eight two-vector shuffles (unpck / movlhps on x86): four runs of four
// values along one index become four runs along the other, each moved by one load and one store
// where a copy a value costs a load, a store and the index arithmetic for each.
// (__builtin_shufflevector: GCC from 12 and clang both have it; GCC's __builtin_shuffle is GCC's.)
template <typename T>
inline void transpose4(typename Quad<T>::type (&q)[4]) {
  const auto t0 = __builtin_shufflevector(q[0], q[1], 0, 4, 1, 5), t1 = __builtin_shufflevector(q[0], q[1], 2, 6, 3, 7);
  const auto t2 = __builtin_shufflevector(q[2], q[3], 0, 4, 1, 5), t3 = __builtin_shufflevector(q[2], q[3], 2, 6, 3, 7);
  q[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  q[1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  q[2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  q[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

// out[cols, rows] = in[rows, cols]ᵀ, by 32 × 32 tiles, which keep both the read and the write side
// in cache (a plain loop reads or writes one value per cache line); tiles of rows split between
// threads for large matrices.
template <typename T>
void transpose(const T* in, int64_t rows, int64_t cols, T* out) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for if (rows * cols > stream_grain())
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile)
      for (int64_t i = i0; i < std::min(i0 + kTile, rows); ++i)
        for (int64_t j = j0; j < std::min(j0 + kTile, cols); ++j) out[j * rows + i] = in[i * cols + j];
}

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
