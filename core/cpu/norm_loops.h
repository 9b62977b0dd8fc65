// The loops BatchNorm and GroupNorm share (core/cpu/batch_norm.cpp, core/cpu/group_norm.cpp).
// Both normalize sets of values: x̂ = (x − mean)·rstd, rstd = 1/sqrt(var + eps), y = γ·x̂ + β,
// a set being one channel over the batch (BN) or one group of channels of one sample (GN).
// Every loop below runs over one contiguous span (a channel's H·W values of one sample);
// sums accumulate in double, and the statistics are core/moments.h's (no Σx² − mean²).
#pragma once

#include <cmath>
#include <cstdint>

#include "../kernels/types.h"
#include "capability.h"
#include "../moments.h"
#include "../norm_math.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace norm {

/// x[N, C, *] as N, C and HW, the product of the remaining sizes.
struct Dims {
  int64_t N, C, HW;
};
inline Dims dims_of(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1);
  return {N, C, x.numel() / std::max<int64_t>(N * C, 1)};
}

/// A set's count, mean and Σ(x − mean)², in double (core/moments.h, shared with CUDA).
using Moments = minidl::Moments<double>;

/// y = x·scale + shift — normalize and affine in one multiply-add.
template <typename T>
inline void scale_shift(const T* x, int64_t n, T scale, T shift, T* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

/// Σdy and Σdy·x of a set.
struct GradSums {
  double dy = 0, dy_x = 0;
};

template <typename T>
inline void accumulate_grad_sums(const T* dy, const T* x, int64_t n, GradSums& g) {
  double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
  for (int64_t i = 0; i < n; ++i) {
    s += dy[i];
    sx += static_cast<double>(dy[i]) * x[i];
  }
  g.dy += s;
  g.dy_x += sx;
}

/// dx = γ·rstd·dy + b·x + c (the math is in core/norm_math.h, shared with the CUDA kernels).
using DxCoefficients = norm_math::DxCoefficients<double>;
inline DxCoefficients dx_coefficients(double sum_gdy, double sum_gdy_x, double mean, double rstd, int64_t M) {
  return norm_math::dx_coefficients<double>(sum_gdy, sum_gdy_x, mean, rstd, M);
}

/// dx = a·dy + b·x + c
template <typename T>
inline void combine(const T* dy, const T* x, int64_t n, T a, T b, T c, T* dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dx[i] = a * dy[i] + b * x[i] + c;
}

}  // namespace norm
}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
