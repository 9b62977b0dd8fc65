// What a convolution's forward writes from its product (core/cpu/conv.cpp, winograd.cpp): the
// product plus the bias, plus a residual (conv2d_add) — or, in inference, with an eval-mode
// BatchNorm folded in, relu(product·scale[k] + shift[k] + residual) by BatchNorm's own loop
// (norm_loops.h) — so that the values are those of the ops one after the other, and their passes
// over memory are saved: the product's rows are copied into y anyway. A GroupNorm (inference,
// conv2d_group_norm) needs a sample's whole output for its statistics: it runs, by GroupNorm's own
// loop, on each sample or chunk of samples as soon as the convolution has written it, while it is
// still in this core's cache — rather than in two more passes over the whole output from memory.
#pragma once

#include <omp.h>

#include <cstdint>

#include "capability.h"
#include "copy.h"
#include "norm_loops.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// A GroupNorm applied to whole samples of the output: groups, eps, γ and β ([K] or null).
template <typename T>
struct GroupNormPass {
  int64_t groups = 0;
  double eps = 1e-5;
  const T *gamma = nullptr, *beta = nullptr;
};

template <typename T>
struct OutputPass {
  const T* bias = nullptr;                             // [K], or null
  const T *scale = nullptr, *shift = nullptr;          // [K] each, or null: no norm
  norm::Epilogue<T> then;                              // residual (offset like y, or null), relu
  const GroupNormPass<T>* group_norm = nullptr;        // or null; `then` then follows it, not the rows

  bool trivial() const { return !bias && !scale && !rows_then().residual; }
  /// The same pass for the part of y that starts `offset` values in (a sample, a chunk).
  OutputPass shifted(int64_t offset) const { return {bias, scale, shift, then.at(offset), group_norm}; }
  /// The epilogue of the rows' pass: none where a GroupNorm follows (it comes after the norm).
  norm::Epilogue<T> rows_then() const { return group_norm ? norm::Epilogue<T>{} : then; }
  /// After `count` samples of K channels of pq values, y (this pass's part) written by rows: the
  /// GroupNorm, in place, set by set — across the team's threads where none is running yet.
  void samples(T* y, int64_t count, int64_t K, int64_t pq) const {
    if (!group_norm) return;
    const GroupNormPass<T>& gn = *group_norm;
    const int64_t cg = K / gn.groups, sets = count * gn.groups, size = cg * pq;
#pragma omp parallel for if (!omp_in_parallel() && sets * size > kParallelGrain)
    for (int64_t s = 0; s < sets; ++s)
      norm::group_norm_set(y + s * size, cg, pq, (s % gn.groups) * cg, gn.gamma, gn.beta, gn.eps, then.at(s * size),
                           y + s * size);
  }
  /// n outputs of channel k, `at` values into this pass's part of y, from src (which may be dst).
  void row(const T* src, int64_t n, int64_t k, int64_t at, T* dst) const {
    const norm::Epilogue<T> e = rows_then();
    if (scale) {
      norm::scale_shift(src, n, scale[k], shift[k], e.at(at), dst);
    } else if (e.residual) {  // (product + bias) + residual, as conv2d then add round it
      const T* r = e.residual + at;
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
