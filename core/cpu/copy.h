// Short row copies, shared by the convolutions' padded copies and Winograd's tile gathers.
#pragma once

#include <cstdint>

#include "capability.h"

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

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
