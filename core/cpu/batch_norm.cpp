// BatchNorm forward and backward on the CPU.
// Dims: N batch, C channels, HW = product of the spatial sizes; a channel's set is N·HW values.
//
// Each channel is one task (OpenMP over C): statistics then normalization (forward), gradient
// sums then dx (backward), back to back while the channel's N spans are still in cache.
#include <cmath>

#include "../kernels/norm.h"
#include "parallel.h"
#include "norm_loops.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

template <typename T>
void forward(const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, int64_t N, int64_t C,
             int64_t HW, bool training, double momentum, double eps, const norm::Epilogue<T>& then, T* y, T* mean_out,
             T* rstd_out) {
  const int64_t count = N * HW;
#pragma omp parallel for if (N * C * HW > kParallelGrain)
  for (int64_t c = 0; c < C; ++c) {
    double mean, rstd;
    if (training) {
      norm::Moments m;
      for (int64_t n = 0; n < N; ++n) norm::add_span(m, x + (n * C + c) * HW, HW);
      const double var = m.variance();
      mean = m.mean;
      rstd = norm::rstd_of(var, eps);
      if (running_mean) {
        running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
        // The running variance is the unbiased one (÷ count − 1), as in PyTorch.
        const double unbiased = count > 1 ? var * count / (count - 1) : var;
        running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbiased);
      }
    } else {
      mean = running_mean[c];
      rstd = norm::rstd_of(running_var[c], eps);
    }
    mean_out[c] = static_cast<T>(mean);
    rstd_out[c] = static_cast<T>(rstd);
    const norm::Affine a = norm::affine_of(mean, rstd, gamma, beta, c);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = (n * C + c) * HW;
      norm::scale_shift(x + at, HW, static_cast<T>(a.scale), static_cast<T>(a.shift), then.at(at), y + at);
    }
  }
}

// In training, mean and rstd depend on x, which adds the b·x + c terms to dx; in eval they
// are constants and dx = γ·rstd·dy. dy here is the gradient reaching the norm (norm::incoming).
template <typename T>
void backward(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma, int64_t N, int64_t C, int64_t HW,
              bool training, const norm::Epilogue<T>& then, T* dx, T* dgamma, T* dbeta, T* dresidual) {
  const int64_t count = N * HW;
  T* const kept = norm::kept_incoming(then, dx, dresidual);
#pragma omp parallel for if (N * C * HW > kParallelGrain)
  for (int64_t c = 0; c < C; ++c) {
    norm::GradSums s;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = (n * C + c) * HW;
      norm::accumulate_grad_sums(dy + at, x + at, HW, then.at(at), s, kept ? kept + at : nullptr);
    }
    const double g = gamma ? gamma[c] : T(1), mu = mean[c], r = rstd[c];
    if (dgamma) {
      dgamma[c] = static_cast<T>(r * (s.dy_x - mu * s.dy));
      dbeta[c] = static_cast<T>(s.dy);
    }
    if (!dx) continue;
    norm::DxCoefficients k{0, 0};
    if (training) k = norm::dx_coefficients(g * s.dy, g * s.dy_x, mu, r, count);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = (n * C + c) * HW;
      norm::combine(dy + at, kept ? kept + at : nullptr, x + at, HW, then.at(at), static_cast<T>(g * r),
                    static_cast<T>(k.b), static_cast<T>(k.c), dx + at);
    }
  }
}

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                        Tensor& running_var, bool training, double momentum, double eps,
                        const kernels::NormEpilogue& then, kernels::NormForward& out) {
  const norm::Dims d = norm::dims_of(x);
  dispatch_floating(x.dtype(), "batch_norm", [&](auto v) {
    using T = decltype(v);
    forward<T>(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), data_or_null<T>(running_mean),
               data_or_null<T>(running_var), d.N, d.C, d.HW, training, momentum, eps, norm::epilogue_of<T>(then),
               out.y.data<T>(), out.mean.data<T>(), out.rstd.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(batch_norm_forward_kernel, CPU, batch_norm_forward);

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, const Tensor& relu_y, kernels::NormGrads& grads) {
  const norm::Dims d = norm::dims_of(x);
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto v) {
    using T = decltype(v);
    backward<T>(dy.data<T>(), x.data<T>(), mean.data<T>(), rstd.data<T>(), data_or_null<T>(weight), d.N, d.C,
                d.HW, training, norm::epilogue_of_backward<T>(relu_y), data_or_null<T>(grads.dx),
                data_or_null<T>(grads.dweight), data_or_null<T>(grads.dbias), data_or_null<T>(grads.dresidual));
  });
}
MINIDL_REGISTER_KERNEL(batch_norm_backward_kernel, CPU, batch_norm_backward);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
