// The loops BatchNorm and GroupNorm share (core/cpu/batch_norm.cpp, core/cpu/group_norm.cpp).
// Both normalize sets of values: x̂ = (x − mean)·rstd, rstd = 1/sqrt(var + eps), y = γ·x̂ + β,
// a set being one channel over the batch (BN) or one group of channels of one sample (GN).
// Every loop below runs over one contiguous span (a channel's H·W values of one sample);
// sums accumulate in double (float spans: in float lanes over a few values, then in double —
// sum_and_dot), and the statistics are core/moments.h's (no Σx² − mean²).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../kernels/types.h"
#include "capability.h"
#include "../elementwise_ops.h"
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

/// Σu and Σu·v over n floats, u = a − ka and v = b − kb, added to su and suv: a set's moments
/// (a = b = x, shifted by one of its values) and its gradient sums (a = dy, b = x, no shift).
/// In float vector lanes — four 8-lane accumulators, where one would wait on its own adds: 2x
/// on one core, a span in L1, L2 or L3 (25 → 48-53 GB/s) — over blocks of kBlock values, each
/// block's sums then added in double: a lane adds at most kBlock / 32 = 8 values in float.
/// With kRelu, a is first masked by the fused ReLU's output (ReluGrad: 0 where relu_y ≤ 0) and
/// written to `kept` as it is read (kept_incoming) — in the same loop as the sums.
template <bool kRelu>
inline void sum_and_dot_as(const float* a, float ka, const float* b, float kb, int64_t n, double& su, double& suv,
                           const float* relu_y, float* kept) {
  // Loads and stores by memcpy: unaligned, whatever the compiler assumes of a vector type's
  // alignment (clang read a reduced-alignment typedef through a reference with vmovaps).
  typedef float Lanes __attribute__((vector_size(32)));
  typedef int Bits __attribute__((vector_size(32)));
  constexpr int64_t kBlock = 256, kStep = 32;
  const Lanes vka = {ka, ka, ka, ka, ka, ka, ka, ka}, vkb = {kb, kb, kb, kb, kb, kb, kb, kb}, zero = {};
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
    const float *pa = a + i0, *pb = b + i0;
    Lanes u[4] = {}, uv[4] = {};
    int64_t i = 0;
    for (; i + kStep <= m; i += kStep)
      for (int l = 0; l < 4; ++l) {
        const int64_t at = i + 8 * l;
        Lanes va, vb;
        __builtin_memcpy(&va, pa + at, sizeof va);
        __builtin_memcpy(&vb, pb + at, sizeof vb);
        if constexpr (kRelu) {
          Lanes y;
          __builtin_memcpy(&y, relu_y + i0 + at, sizeof y);
          va = reinterpret_cast<Lanes>(reinterpret_cast<Bits>(va) & ~(y <= zero));
          __builtin_memcpy(kept + i0 + at, &va, sizeof va);
        }
        const Lanes du = va - vka, dv = vb - vkb;
        u[l] += du;
        uv[l] += du * dv;
      }
    const Lanes tu = (u[0] + u[1]) + (u[2] + u[3]), tuv = (uv[0] + uv[1]) + (uv[2] + uv[3]);
    float bu = 0, buv = 0;
    for (int l = 0; l < 8; ++l) {
      bu += tu[l];
      buv += tuv[l];
    }
    for (; i < m; ++i) {
      float va = pa[i];
      if constexpr (kRelu) kept[i0 + i] = va = ops::ReluGrad<float>{}(va, relu_y[i0 + i]);
      const float du = va - ka;
      bu += du;
      buv += du * (pb[i] - kb);
    }
    su += bu;
    suv += buv;
  }
}
inline void sum_and_dot(const float* a, float ka, const float* b, float kb, int64_t n, double& su, double& suv) {
  sum_and_dot_as<false>(a, ka, b, kb, n, su, suv, nullptr, nullptr);
}

/// A span's moments: core/moments.h's add_span, float spans by sum_and_dot (runs as long).
template <typename T>
inline void add_span(Moments& m, const T* x, int64_t count) {
  if constexpr (!std::is_same_v<T, float>) {
    minidl::add_span(m, x, count);
  } else {
    for (int64_t i = 0; i < count; i += kMomentsRun) {
      const int64_t n = std::min(kMomentsRun, count - i);
      double s = 0, ss = 0;
      sum_and_dot(x + i, x[i], x + i, x[i], n, s, ss);
      m.merge(Moments::of_shifted_sums(static_cast<double>(n), x[i], s, ss));
    }
  }
}

/// The fused epilogue (kernels::NormEpilogue) as pointers: residual (or null) and relu_y — the
/// fused ReLU's output in the backward (or null) — both offset like the span being worked on.
template <typename T>
struct Epilogue {
  const T* residual = nullptr;
  bool relu = false;
  const T* relu_y = nullptr;
  Epilogue at(int64_t offset) const {
    return {residual ? residual + offset : nullptr, relu, relu_y ? relu_y + offset : nullptr};
  }
};
template <typename T>
inline Epilogue<T> epilogue_of(const kernels::NormEpilogue& then) {
  return {data_or_null<T>(then.residual), then.relu, nullptr};
}
template <typename T>
inline Epilogue<T> epilogue_of_backward(const Tensor& relu_y) {
  return {nullptr, relu_y.defined(), data_or_null<T>(relu_y)};
}

/// A set's normalize-and-affine as one multiply-add, y = x·scale + shift (in double; cast to T
/// where applied): scale = γ·rstd, shift = β − mean·scale (γ, β optional).
struct Affine {
  double scale, shift;
};
template <typename T>
inline Affine affine_of(double mean, double rstd, const T* gamma, const T* beta, int64_t c) {
  const double scale = rstd * (gamma ? gamma[c] : T(1));
  return {scale, (beta ? beta[c] : T(0)) - mean * scale};
}
/// rstd = 1/sqrt(var + eps), of a set's variance or of BatchNorm's running variance (eval).
inline double rstd_of(double variance, double eps) { return 1.0 / std::sqrt(variance + eps); }

/// y = relu(x·scale + shift + residual) — normalize and affine in one multiply-add, then the
/// epilogue's parts, each compiled in or out (four loops, each vectorized).
template <typename T, bool kResidual, bool kRelu>
inline void scale_shift_as(const T* x, int64_t n, T scale, T shift, const T* residual, T* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i] * scale + shift;
    if constexpr (kResidual) v += residual[i];
    if constexpr (kRelu) v = ops::Relu<T>{}(v);
    y[i] = v;
  }
}
template <typename T>
inline void scale_shift(const T* x, int64_t n, T scale, T shift, const Epilogue<T>& e, T* y) {
  if (e.residual)
    e.relu ? scale_shift_as<T, true, true>(x, n, scale, shift, e.residual, y)
           : scale_shift_as<T, true, false>(x, n, scale, shift, e.residual, y);
  else
    e.relu ? scale_shift_as<T, false, true>(x, n, scale, shift, nullptr, y)
           : scale_shift_as<T, false, false>(x, n, scale, shift, nullptr, y);
}

/// A set's mean and rstd.
struct SetStatistics {
  double mean, rstd;
};
/// GroupNorm's forward of one set — a sample's group of cg channels, cg·HW contiguous values from
/// channel `first` on — y = scale_shift(x) with the set's own statistics; `then` offset to the
/// set's start. (GroupNorm's kernel, group_norm.cpp, and the convolution's output pass,
/// conv_output.h, run it alike: the same values either way.)
template <typename T>
inline SetStatistics group_norm_set(const T* x, int64_t cg, int64_t HW, int64_t first, const T* gamma, const T* beta,
                                    double eps, const Epilogue<T>& then, T* y) {
  Moments m;
  norm::add_span(m, x, cg * HW);
  const double mean = m.mean, rstd = rstd_of(m.variance(), eps);
  for (int64_t i = 0; i < cg; ++i) {
    const Affine a = affine_of(mean, rstd, gamma, beta, first + i);
    scale_shift(x + i * HW, HW, static_cast<T>(a.scale), static_cast<T>(a.shift), then.at(i * HW), y + i * HW);
  }
  return {mean, rstd};
}

/// The gradient reaching the norm's own output: dy, or with the fused ReLU dy where its output
/// was positive (ReluGrad). The backward's first pass computes it; the second reads it where the
/// first kept it (kept_incoming), or computes it again where there was nowhere to keep it.
template <typename T, bool kRelu>
inline T incoming(const T* dy, const T* relu_y, int64_t i) {
  if constexpr (kRelu) return ops::ReluGrad<T>{}(dy[i], relu_y[i]);
  else return dy[i];
}

/// Σdy and Σdy·x of a set.
struct GradSums {
  double dy = 0, dy_x = 0;
};

template <typename T>
inline void accumulate_grad_sums(const T* dy, const T* x, int64_t n, GradSums& g) {
  if constexpr (std::is_same_v<T, float>) return sum_and_dot(dy, 0.0f, x, 0.0f, n, g.dy, g.dy_x);
  double s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
  for (int64_t i = 0; i < n; ++i) {
    s += dy[i];
    sx += static_cast<double>(dy[i]) * x[i];
  }
  g.dy += s;
  g.dy_x += sx;
}

/// Where the backward's first pass keeps the gradient reaching the norm (incoming) for its second
/// pass: in dresidual, whose gradient it is anyway; else, with the fused ReLU, in dx — which the
/// second pass then overwrites in place, reading it there rather than dy and relu_y again (one
/// stream less, and no second mask); else nowhere: the second pass reads dy.
template <typename T>
inline T* kept_incoming(const Epilogue<T>& e, T* dx, T* dresidual) {
  return dresidual ? dresidual : e.relu_y ? dx : nullptr;
}

/// The same for the gradient reaching the norm (incoming); with `kept` (or null), also writes
/// that gradient there (kept_incoming). With the fused ReLU, floats going to `kept` are masked,
/// kept and summed in one loop (sum_and_dot_as); otherwise the masked gradient is written a block
/// at a time (to `kept`, or to a buffer in L1) and summed from there: a select inside the double
/// sums keeps GCC from vectorizing them (scalar, 3x slower than the unfused ops).
template <typename T>
inline void accumulate_grad_sums(const T* dy, const T* x, int64_t n, const Epilogue<T>& e, GradSums& g, T* kept) {
  if (!e.relu_y) {
    accumulate_grad_sums(dy, x, n, g);
    if (kept) std::copy(dy, dy + n, kept);
    return;
  }
  if constexpr (std::is_same_v<T, float>)
    if (kept) return sum_and_dot_as<true>(dy, 0.0f, x, 0.0f, n, g.dy, g.dy_x, e.relu_y, kept);
  constexpr int64_t kBlock = 1024;
  T block[kBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
    T* d = kept ? kept + i0 : block;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) d[i] = incoming<T, true>(dy + i0, e.relu_y + i0, i);
    accumulate_grad_sums(d, x + i0, m, g);
  }
}

/// dx = γ·rstd·dy + b·x + c (the math is in core/norm_math.h, shared with the CUDA kernels).
using DxCoefficients = norm_math::DxCoefficients<double>;
inline DxCoefficients dx_coefficients(double sum_gdy, double sum_gdy_x, double mean, double rstd, int64_t M) {
  return norm_math::dx_coefficients<double>(sum_gdy, sum_gdy_x, mean, rstd, M);
}

/// dx = a·dy + b·x + c, dy being the gradient reaching the norm (incoming) — read from `kept`
/// where the first pass left it (kept_incoming; it may be dx itself), else from dy and relu_y.
template <typename T, bool kRelu>
inline void combine_as(const T* dy, const T* relu_y, const T* x, int64_t n, T a, T b, T c, T* dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dx[i] = a * incoming<T, kRelu>(dy, relu_y, i) + b * x[i] + c;
}
template <typename T>
inline void combine(const T* dy, const T* kept, const T* x, int64_t n, const Epilogue<T>& e, T a, T b, T c, T* dx) {
  if (kept) return combine_as<T, false>(kept, nullptr, x, n, a, b, c, dx);
  e.relu_y ? combine_as<T, true>(dy, e.relu_y, x, n, a, b, c, dx) : combine_as<T, false>(dy, nullptr, x, n, a, b, c, dx);
}

}  // namespace norm
}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
