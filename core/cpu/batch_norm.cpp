// BatchNorm forward and backward on the CPU.
// Dims: N batch, C channels, HW = product of the spatial sizes; a channel's set is N·HW values.
//
// A channel's set spans every sample, but the threads split the samples, not the channels
// (SampleShares, parallel.h), as the convolutions and GroupNorm do: a core reads the spans it
// wrote in the layer before from its own cache. So each pass runs in three steps: every span
// (n, c) by the thread that has sample n — its moments (forward) or its gradient sums (backward);
// then every channel's statistics or sums, its spans merged in the order of n (the same values
// on any number of threads); then every span normalized (forward) or its dx (backward), by the
// thread that has its sample again. (Threads took whole channels before, each reading half of
// every sample from the other core's cache. AVX-512 VM, 2 threads, training img/s alternating
// with that: resnet20 BN b32 1005–1024 → 1124–1135, b128 1066–1100 → 1151–1185, preresnet29 BN
// b32 527–548 → 592–601; on 1 thread the same, 626–636 → 636–641.)
#include <cmath>
#include <vector>

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
  std::vector<norm::Moments> spans(static_cast<size_t>(training ? N * C : 0));  // of span n·C + c
  std::vector<norm::Affine> affine(static_cast<size_t>(C));
  SampleShares statistics(N * C), normalize(N * C);
#pragma omp parallel if (N * C * HW > kParallelGrain)
  {
    if (training) statistics.run([&](int64_t nc) { norm::add_span(spans[nc], x + nc * HW, HW); });
#pragma omp barrier
#pragma omp for
    for (int64_t c = 0; c < C; ++c) {
      double mean, rstd;
      if (training) {
        norm::Moments m;
        for (int64_t n = 0; n < N; ++n) m.merge(spans[n * C + c]);
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
      affine[c] = norm::affine_of(mean, rstd, gamma, beta, c);
    }
    normalize.run([&](int64_t nc) {
      const norm::Affine& a = affine[nc % C];
      const int64_t at = nc * HW;
      norm::scale_shift(x + at, HW, static_cast<T>(a.scale), static_cast<T>(a.shift), then.at(at), y + at);
    });
  }
}

// In training, mean and rstd depend on x, which adds the b·x + c terms to dx; in eval they
// are constants and dx = γ·rstd·dy. dy here is the gradient reaching the norm (norm::incoming).
template <typename T>
void backward(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma, int64_t N, int64_t C, int64_t HW,
              bool training, const norm::Epilogue<T>& then, T* dx, T* dgamma, T* dbeta, T* dresidual) {
  const int64_t count = N * HW;
  T* const kept = norm::kept_incoming(then, dx, dresidual);
  std::vector<norm::GradSums> spans(static_cast<size_t>(N * C));  // of span n·C + c
  struct Coefficients {
    T a, b, c;  // dx = a·dy + b·x + c
  };
  std::vector<Coefficients> coefficients(static_cast<size_t>(C));
  SampleShares sums(N * C), combine(N * C);
#pragma omp parallel if (N * C * HW > kParallelGrain)
  {
    sums.run([&](int64_t nc) {
      const int64_t at = nc * HW;
      norm::accumulate_grad_sums(dy + at, x + at, HW, then.at(at), spans[nc], kept ? kept + at : nullptr);
    });
#pragma omp barrier
#pragma omp for
    for (int64_t c = 0; c < C; ++c) {
      norm::GradSums s;
      for (int64_t n = 0; n < N; ++n) {
        s.dy += spans[n * C + c].dy;
        s.dy_x += spans[n * C + c].dy_x;
      }
      const double g = gamma ? gamma[c] : T(1), mu = mean[c], r = rstd[c];
      if (dgamma) {
        dgamma[c] = static_cast<T>(r * (s.dy_x - mu * s.dy));
        dbeta[c] = static_cast<T>(s.dy);
      }
      norm::DxCoefficients k{0, 0};
      if (training) k = norm::dx_coefficients(g * s.dy, g * s.dy_x, mu, r, count);
      coefficients[c] = {static_cast<T>(g * r), static_cast<T>(k.b), static_cast<T>(k.c)};
    }
    if (dx)
      combine.run([&](int64_t nc) {
        const Coefficients& k = coefficients[nc % C];
        const int64_t at = nc * HW;
        norm::combine(dy + at, kept ? kept + at : nullptr, x + at, HW, then.at(at), k.a, k.b, k.c, dx + at);
      });
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
