// What a convolution's forward writes from its product (core/cpu/conv.cpp, winograd.cpp): the
// product plus the bias, plus a residual (conv2d_add) — or, in inference, with an eval-mode
// BatchNorm folded in, relu(product·scale[k] + shift[k] + residual) by BatchNorm's own loop
// (norm_loops.h) — so that the values are those of the ops one after the other, and their passes
// over memory are saved: the product's rows are copied into y anyway.
#pragma once

#include <cstdint>

#include "capability.h"
#include "copy.h"
#include "norm_loops.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

template <typename T>
struct OutputPass {
  const T* bias = nullptr;                             // [K], or null
  const T *scale = nullptr, *shift = nullptr;          // [K] each, or null: no norm
  norm::Epilogue<T> then;                              // residual (offset like y, or null), relu

  bool trivial() const { return !bias && !scale && !then.residual; }
  /// The same pass for the part of y that starts `offset` values in (a sample, a chunk).
  OutputPass shifted(int64_t offset) const { return {bias, scale, shift, then.at(offset)}; }
  /// n outputs of channel k, `at` values into this pass's part of y, from src (which may be dst).
  void row(const T* src, int64_t n, int64_t k, int64_t at, T* dst) const {
    if (scale) {
      norm::scale_shift(src, n, scale[k], shift[k], then.at(at), dst);
    } else if (then.residual) {  // (product + bias) + residual, as conv2d then add round it
      const T* r = then.residual + at;
      if (bias)
        for (int64_t j = 0; j < n; ++j) dst[j] = (src[j] + bias[k]) + r[j];
      else
        for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + r[j];
    } else if (bias) {
      const T b = bias[k];
      for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + b;
    } else if (src != dst) {
      copy_short(src, n, dst);
    }
  }
};

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
