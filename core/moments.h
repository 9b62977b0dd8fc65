// Mean and variance of a set of values — one module for every normalization: the CPU kernels
// (core/cpu/norm_loops.h) and the CUDA kernels (core/cuda/norm.cuh). (The BN → GN calibration's
// covariances, models/swap.cpp, merge the same way.)
//
// A set's moments are (n, mean, M2 = Σ(x − mean)²); two sets merge exactly (Chan, Golub and
// LeVeque 1979):  n = na + nb,  δ = mean_b − mean_a,  mean = mean_a + δ·nb/n,
//                 M2 = M2_a + M2_b + δ²·na·nb/n.
// Values enter one at a time (Welford's update: each GPU thread over its strided share) or as
// a short contiguous run in one pass of sums shifted by the run's first value (the CPU, in
// double; add_run). Neither forms Σx² − n·mean², which cancels when |mean| ≫ std: for float32
// data with mean 1000 and std 1, Σx² in float keeps about one digit of the variance.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace minidl {

template <typename A>
struct Moments {
  A n = 0, mean = 0, m2 = 0;

  /// Welford's update with one value.
  MINIDL_HOST_DEVICE void add(A x) {
    n += 1;
    const A d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }

  /// Adds a contiguous run of values in one pass, shifted by its first value k:
  /// mean = k + Σd/n and M2 = Σd² − (Σd)²/n with d = x − k. The subtraction cancels only as much
  /// as (mean − k)² exceeds the variance — a digit or so for k one value of the set — where
  /// Σx² − n·mean² cancels by (mean/std)². Runs are kept short (add_span), so the runs' merges
  /// carry the rest.
  /// (always_inline: the CPU kernels are compiled once per instruction set, core/cpu/capability.h,
  /// and each copy should run this loop at its own vector width, not share one out-of-line copy.)
  template <typename T>
  [[gnu::always_inline]] inline void add_run(const T* x, int64_t count) {
    if (count <= 0) return;
    const A k = static_cast<A>(x[0]);
    A s = 0, ss = 0;
#pragma omp simd reduction(+ : s, ss)
    for (int64_t i = 0; i < count; ++i) {
      const A d = static_cast<A>(x[i]) - k;
      s += d;
      ss += d * d;
    }
    merge(of_shifted_sums(static_cast<A>(count), k, s, ss));
  }

  /// A run's moments from its count n and its sums Σd, Σd² with d = x − k (add_run's math; the
  /// CPU's float kernels form the sums their own way, core/cpu/norm_loops.h).
  MINIDL_HOST_DEVICE static Moments of_shifted_sums(A n, A k, A s, A ss) {
    Moments run;
    run.n = n;
    run.mean = k + s / n;
    const A m2 = ss - s * (s / n);
    run.m2 = m2 > 0 ? m2 : A(0);
    return run;
  }

  /// Adds another set's moments.
  MINIDL_HOST_DEVICE void merge(const Moments& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const A total = n + o.n, d = o.mean - mean;
    mean += d * (o.n / total);
    m2 += o.m2 + d * d * (n * (o.n / total));
    n = total;
  }

  /// The biased variance M2 / n (0 for an empty set).
  MINIDL_HOST_DEVICE A variance() const { return n > 0 ? m2 / n : A(0); }
};

/// Values per run of add_span: short enough that the runs' merges carry the precision.
constexpr int64_t kMomentsRun = 4096;

/// Moments of a long contiguous span, run by cache-sized run.
template <typename A, typename T>
[[gnu::always_inline]] inline void add_span(Moments<A>& m, const T* x, int64_t count) {
  for (int64_t i = 0; i < count; i += kMomentsRun)
    m.add_run(x + i, count - i < kMomentsRun ? count - i : kMomentsRun);
}

}  // namespace minidl
