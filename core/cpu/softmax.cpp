// log_softmax and cross-entropy on the CPU, over the last dim of [M, K] (one row per sample).
#include <cmath>

#include "cpu.h"

namespace minidl::cpu {
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

}  // namespace

Tensor log_softmax_forward(const Tensor& x) {
  const int64_t k = x.size(-1), rows = x.numel() / std::max<int64_t>(k, 1);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), "log_softmax", [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_row(rows, k, [&](int64_t i) { log_softmax_row(px + i * k, k, py + i * k); });
  });
  return y;
}

Tensor log_softmax_backward(const Tensor& dy, const Tensor& y) {
  const int64_t k = y.size(-1), rows = y.numel() / std::max<int64_t>(k, 1);
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
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
  return dx;
}

// loss = (1/N) Σ_n −[(1 − ε)·log p[n, label] + (ε/K)·Σ_k log p[n, k]]
kernels::CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double smoothing) {
  const int64_t n = logits.size(0), k = logits.size(1);
  kernels::CrossEntropyForward out{Tensor::empty({}, logits.dtype(), logits.device()), log_softmax_forward(logits)};
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
    out.loss.data<T>()[0] = static_cast<T>(n > 0 ? total / n : NAN);
  });
  return out;
}

// dlogits[n, k] = dloss/N · (p[n, k] − t[n, k]), t the smoothed one-hot target
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double smoothing) {
  const int64_t n = log_probs.size(0), k = log_probs.size(1);
  Tensor dx = Tensor::empty(log_probs.shape(), log_probs.dtype(), log_probs.device());
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
  return dx;
}

}  // namespace minidl::cpu
