// log_softmax and cross-entropy on the CPU, over the last dim of [M, K] (one row per sample).
#include <cmath>

#include "../kernels/softmax.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

// y = x − max − log Σ exp(x − max): subtracting the max keeps exp from overflowing.
template <typename T>
void log_softmax_row(const T* x, int64_t k, T* y) {
  T mx = x[0];
  for (int64_t j = 1; j < k; ++j) mx = std::max(mx, x[j]);
  double total = 0;
  for (int64_t j = 0; j < k; ++j) total += std::exp(static_cast<double>(x[j] - mx));
  const T shift = static_cast<T>(mx + std::log(total));
  for (int64_t j = 0; j < k; ++j) y[j] = x[j] - shift;
}

template <typename F>
void for_each_row(int64_t rows, int64_t k, F f) {
#pragma omp parallel for if (rows * k > kParallelGrain)
  for (int64_t i = 0; i < rows; ++i) f(i);
}

void log_softmax_forward(const Tensor& x, Tensor& y) {
  const int64_t k = x.size(-1), rows = x.numel() / std::max<int64_t>(k, 1);
  dispatch_floating(x.dtype(), "log_softmax", [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_row(rows, k, [&](int64_t i) { log_softmax_row(px + i * k, k, py + i * k); });
  });
}
MINIDL_REGISTER_KERNEL(log_softmax_forward_kernel, CPU, log_softmax_forward);

void log_softmax_backward(const Tensor& dy, const Tensor& y, Tensor& dx) {
  const int64_t k = y.size(-1), rows = y.numel() / std::max<int64_t>(k, 1);
  dispatch_floating(y.dtype(), "log_softmax_backward", [&](auto v) {
    using T = decltype(v);
    const T *pdy = dy.data<T>(), *py = y.data<T>();
    T* pdx = dx.data<T>();
    for_each_row(rows, k, [&](int64_t i) {
      double total = 0;
      for (int64_t j = 0; j < k; ++j) total += pdy[i * k + j];
      for (int64_t j = 0; j < k; ++j) pdx[i * k + j] = static_cast<T>(pdy[i * k + j] - std::exp(py[i * k + j]) * total);
    });
  });
}
MINIDL_REGISTER_KERNEL(log_softmax_backward_kernel, CPU, log_softmax_backward);

// loss = (1/N) Σ_n −[(1 − ε)·log p[n, label] + (ε/K)·Σ_k log p[n, k]]
void cross_entropy_forward(const Tensor& logits, const Tensor& labels, double smoothing,
                           kernels::CrossEntropyForward& out) {
  const int64_t n = logits.size(0), k = logits.size(1);
  log_softmax_forward(logits, out.log_probs);
  const int64_t* lab = labels.data<int64_t>();
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto v) {
    using T = decltype(v);
    const T* lp = out.log_probs.data<T>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double row = 0;
      if (smoothing > 0)
        for (int64_t j = 0; j < k; ++j) row += lp[i * k + j];
      total -= (1 - smoothing) * lp[i * k + lab[i]] + smoothing / k * row;
    }
    out.loss.data<T>()[0] = static_cast<T>(total / n);
  });
}
MINIDL_REGISTER_KERNEL(cross_entropy_forward_kernel, CPU, cross_entropy_forward);

// dlogits[n, k] = dloss/N · (p[n, k] − t[n, k]), t the smoothed one-hot target
void cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double smoothing,
                            Tensor& dx) {
  const int64_t n = log_probs.size(0), k = log_probs.size(1);
  const int64_t* lab = labels.data<int64_t>();
  dispatch_floating(log_probs.dtype(), "cross_entropy_backward", [&](auto v) {
    using T = decltype(v);
    const T* lp = log_probs.data<T>();
    T* pdx = dx.data<T>();
    const double scale = dloss.item<double>() / n;
    for_each_row(n, k, [&](int64_t i) {
      for (int64_t j = 0; j < k; ++j) {
        const double target = smoothing / k + (j == lab[i] ? 1 - smoothing : 0.0);
        pdx[i * k + j] = static_cast<T>(scale * (std::exp(lp[i * k + j]) - target));
      }
    });
  });
}
MINIDL_REGISTER_KERNEL(cross_entropy_backward_kernel, CPU, cross_entropy_backward);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
