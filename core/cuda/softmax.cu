// log_softmax and cross-entropy on CUDA, over the last dim of [M, K]: one thread per row (K is
// the number of classes, small), and one block summing the per-row losses for the mean.
// The same arithmetic as core/cpu/softmax.cpp: y = x − max − log Σ exp(x − max).
#include <algorithm>
#include <cmath>

#include "../kernels/softmax.h"
#include "launch.cuh"

namespace minidl::cuda {
namespace {



template <typename T>
__global__ void log_softmax_rows(const T* x, int64_t rows, int64_t k, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows; i += int64_t(gridDim.x) * blockDim.x) {
    const T* xr = x + i * k;
    T mx = xr[0];
    for (int64_t j = 1; j < k; ++j) mx = mx < xr[j] ? xr[j] : mx;
    double total = 0;
    for (int64_t j = 0; j < k; ++j) total += exp(static_cast<double>(xr[j] - mx));
    const T shift = static_cast<T>(mx + log(total));
    for (int64_t j = 0; j < k; ++j) y[i * k + j] = xr[j] - shift;
  }
}

template <typename T>
__global__ void log_softmax_backward_rows(const T* dy, const T* y, int64_t rows, int64_t k, T* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows; i += int64_t(gridDim.x) * blockDim.x) {
    double total = 0;
    for (int64_t j = 0; j < k; ++j) total += dy[i * k + j];
    for (int64_t j = 0; j < k; ++j) dx[i * k + j] = static_cast<T>(dy[i * k + j] - exp(static_cast<double>(y[i * k + j])) * total);
  }
}

// loss = (1/N) Σ_n −[(1 − ε)·log p[n, label] + (ε/K)·Σ_k log p[n, k]], in one block.
template <typename T>
__global__ void cross_entropy_loss(const T* lp, const int64_t* labels, int64_t n, int64_t k, double smoothing, T* loss) {
  __shared__ double partial[kThreads];
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    double row = 0;
    if (smoothing > 0)
      for (int64_t j = 0; j < k; ++j) row += lp[i * k + j];
    total -= (1 - smoothing) * lp[i * k + labels[i]] + smoothing / k * row;
  }
  partial[threadIdx.x] = total;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = static_cast<T>(n > 0 ? partial[0] / n : NAN);
}

// dlogits[n, k] = dloss/N · (p[n, k] − t[n, k]), t the smoothed one-hot target; dloss stays on the GPU.
template <typename T>
__global__ void cross_entropy_grad(const T* dloss, const T* lp, const int64_t* labels, int64_t n, int64_t k,
                                   double smoothing, T* dx) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n * k; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e / k, j = e % k;
    const double target = smoothing / k + (j == labels[i] ? 1 - smoothing : 0.0);
    dx[e] = static_cast<T>(static_cast<double>(dloss[0]) / n * (exp(static_cast<double>(lp[e])) - target));
  }
}

void log_softmax_forward(const Tensor& x, Tensor& y) {
  const int device = x.device().index;
  set_device(device, "log_softmax");
  const int64_t k = x.size(-1), rows = x.numel() / std::max<int64_t>(k, 1);
  dispatch_floating(x.dtype(), "log_softmax", [&](auto v) {
    using T = decltype(v);
    log_softmax_rows<T><<<blocks_for(rows), kThreads, 0, stream(device)>>>(x.data<T>(), rows, k, y.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "log_softmax");
}
MINIDL_REGISTER_KERNEL(log_softmax_forward_kernel, CUDA, log_softmax_forward);

void log_softmax_backward(const Tensor& dy, const Tensor& y, Tensor& dx) {
  const int device = y.device().index;
  set_device(device, "log_softmax_backward");
  const int64_t k = y.size(-1), rows = y.numel() / std::max<int64_t>(k, 1);
  dispatch_floating(y.dtype(), "log_softmax_backward", [&](auto v) {
    using T = decltype(v);
    log_softmax_backward_rows<T><<<blocks_for(rows), kThreads, 0, stream(device)>>>(dy.data<T>(), y.data<T>(), rows,
                                                                                    k, dx.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "log_softmax_backward");
}
MINIDL_REGISTER_KERNEL(log_softmax_backward_kernel, CUDA, log_softmax_backward);

void cross_entropy_forward(const Tensor& logits, const Tensor& labels, double smoothing,
                           kernels::CrossEntropyForward& out) {
  const int device = logits.device().index;
  const int64_t n = logits.size(0), k = logits.size(1);
  log_softmax_forward(logits, out.log_probs);
  set_device(device, "cross_entropy");
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto v) {
    using T = decltype(v);
    cross_entropy_loss<T><<<1, kThreads, 0, stream(device)>>>(out.log_probs.data<T>(), labels.data<int64_t>(), n, k,
                                                              smoothing, out.loss.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "cross_entropy");
}
MINIDL_REGISTER_KERNEL(cross_entropy_forward_kernel, CUDA, cross_entropy_forward);

void cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double smoothing,
                            Tensor& dx) {
  const int device = log_probs.device().index;
  set_device(device, "cross_entropy_backward");
  const int64_t n = log_probs.size(0), k = log_probs.size(1);
  dispatch_floating(log_probs.dtype(), "cross_entropy_backward", [&](auto v) {
    using T = decltype(v);
    cross_entropy_grad<T><<<blocks_for(n * k), kThreads, 0, stream(device)>>>(
        dloss.data<T>(), log_probs.data<T>(), labels.data<int64_t>(), n, k, smoothing, dx.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "cross_entropy_backward");
}
MINIDL_REGISTER_KERNEL(cross_entropy_backward_kernel, CUDA, cross_entropy_backward);

}  // namespace

}  // namespace minidl::cuda
