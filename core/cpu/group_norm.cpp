// GroupNorm forward and backward on the CPU.
// Dims: N batch, C channels, G groups (C/G channels each), HW = product of the spatial sizes.
//
// A group of one sample is a contiguous block of (C/G)·HW values, so each (n, g) is one task:
// its statistics and its normalization (forward), or its gradient sums and dx (backward), run
// back to back while the block is still in cache — one trip through memory each way.
#include <vector>

#include "../kernels/norm.h"
#include "parallel.h"
#include "norm_loops.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

template <typename T>
void forward(const T* x, const T* gamma, const T* beta, int64_t N, int64_t C, int64_t HW, int64_t G, double eps,
             const norm::Epilogue<T>& then, T* y, T* mean_out, T* rstd_out) {
  const int64_t cg = C / G;
  SampleShares groups(N * G);
#pragma omp parallel if (N * C * HW > kParallelGrain)
  groups.run([&](int64_t ng) {
    const int64_t at = ng * cg * HW;
    const norm::SetStatistics s = norm::group_norm_set(x + at, cg, HW, (ng % G) * cg, gamma, beta, eps, then.at(at),
                                                       y + at);
    mean_out[ng] = static_cast<T>(s.mean);
    rstd_out[ng] = static_cast<T>(s.rstd);
  });
}

// dγ[c] = Σ_n rstd·(Σdy·x − mean·Σdy),  dβ[c] = Σ_n Σdy, from the per-(n, c) sums of the first pass;
// dy here is the gradient reaching the norm (norm::incoming).
template <typename T>
void backward(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma, int64_t N, int64_t C, int64_t HW,
              int64_t G, const norm::Epilogue<T>& then, T* dx, T* dgamma, T* dbeta, T* dresidual) {
  const int64_t cg = C / G;
  std::vector<norm::GradSums> sums(static_cast<size_t>(N * C));
  T* const kept = norm::kept_incoming(then, dx, dresidual);
  SampleShares groups(N * G);
#pragma omp parallel if (N * C * HW > kParallelGrain)
  groups.run([&](int64_t ng) {
    const int64_t n = ng / G, first = (ng % G) * cg;
    const int64_t offset = ng * cg * HW;
    double sum_gdy = 0, sum_gdy_x = 0;
    for (int64_t i = 0; i < cg; ++i) {
      norm::GradSums& s = sums[n * C + first + i];
      const int64_t at = offset + i * HW;
      norm::accumulate_grad_sums(dy + at, x + at, HW, then.at(at), s, kept ? kept + at : nullptr);
      const double g = gamma ? gamma[first + i] : T(1);
      sum_gdy += g * s.dy;
      sum_gdy_x += g * s.dy_x;
    }
    if (!dx) return;
    const double r = rstd[ng];
    const norm::DxCoefficients k = norm::dx_coefficients(sum_gdy, sum_gdy_x, mean[ng], r, cg * HW);
    for (int64_t i = 0; i < cg; ++i) {
      const double a = r * (gamma ? gamma[first + i] : T(1));
      const int64_t at = offset + i * HW;
      norm::combine(dy + at, kept ? kept + at : nullptr, x + at, HW, then.at(at), static_cast<T>(a),
                    static_cast<T>(k.b), static_cast<T>(k.c), dx + at);
    }
  });
  if (!dgamma) return;
  for (int64_t c = 0; c < C; ++c) {
    double dg = 0, db = 0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t ng = n * G + c / cg;
      const norm::GradSums& s = sums[n * C + c];
      dg += rstd[ng] * (s.dy_x - mean[ng] * s.dy);
      db += s.dy;
    }
    dgamma[c] = static_cast<T>(dg);
    dbeta[c] = static_cast<T>(db);
  }
}

void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps,
                        const kernels::NormEpilogue& then, kernels::NormForward& out) {
  const norm::Dims d = norm::dims_of(x);
  dispatch_floating(x.dtype(), "group_norm", [&](auto v) {
    using T = decltype(v);
    forward<T>(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), d.N, d.C, d.HW, groups, eps,
               norm::epilogue_of<T>(then), out.y.data<T>(), out.mean.data<T>(), out.rstd.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(group_norm_forward_kernel, CPU, group_norm_forward);

void group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, int64_t groups, const Tensor& relu_y, kernels::NormGrads& grads) {
  const norm::Dims d = norm::dims_of(x);
  dispatch_floating(x.dtype(), "group_norm_backward", [&](auto v) {
    using T = decltype(v);
    backward<T>(dy.data<T>(), x.data<T>(), mean.data<T>(), rstd.data<T>(), data_or_null<T>(weight), d.N, d.C,
                d.HW, groups, norm::epilogue_of_backward<T>(relu_y), data_or_null<T>(grads.dx),
                data_or_null<T>(grads.dweight), data_or_null<T>(grads.dbias), data_or_null<T>(grads.dresidual));
  });
}
MINIDL_REGISTER_KERNEL(group_norm_backward_kernel, CPU, group_norm_backward);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
