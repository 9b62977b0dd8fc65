// BatchNorm on CUDA, two kernels each way (the CPU version is core/cpu/batch_norm.cpp). A
// channel's set is its N·HW values, N runs of HW apart by C·HW.
//
// forward:  channel_stats  one block per channel: Welford over the set (training), or the running
//                          statistics (eval) → mean, rstd; training also updates the running mean
//                          and the unbiased running variance with `momentum`, as PyTorch does
//           normalize      one thread per element (norm.cuh, shared with GroupNorm)
// backward: channel_grads  one block per channel: Σdy and Σdy·x → dγ, dβ and the coefficients of
//                          dx = γ·rstd·dy + b·x + c (b = c = 0 in eval: the statistics are constants)
//           input_grad     one thread per element
#include "../norm_math.h"
#include "../kernels/norm.h"
#include "norm.cuh"
#include "runtime.h"

namespace minidl::cuda {
namespace {

template <typename T>
__global__ void channel_stats(const T* x, int64_t N, int64_t C, int64_t HW, bool training, double momentum, double eps,
                              T* running_mean, T* running_var, T* mean, T* rstd) {
  using A = typename Acc<T>::type;
  const int64_t c = blockIdx.x, count = N * HW;
  if (!training) {
    if (threadIdx.x == 0) {
      mean[c] = running_mean[c];
      rstd[c] = static_cast<T>(rsqrt(static_cast<A>(running_var[c]) + static_cast<A>(eps)));
    }
    return;
  }
  Welford<A> w;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) w.add(static_cast<A>(x[((i / HW) * C + c) * HW + i % HW]));
  w = block_merge(w);
  if (threadIdx.x != 0) return;
  const A var = w.m2 / static_cast<A>(count);
  mean[c] = static_cast<T>(w.mean);
  rstd[c] = static_cast<T>(rsqrt(var + static_cast<A>(eps)));
  if (running_mean) {
    const A m = static_cast<A>(momentum);
    const A unbiased = count > 1 ? var * static_cast<A>(count) / static_cast<A>(count - 1) : var;
    running_mean[c] = static_cast<T>((1 - m) * static_cast<A>(running_mean[c]) + m * w.mean);
    running_var[c] = static_cast<T>((1 - m) * static_cast<A>(running_var[c]) + m * unbiased);
  }
}

// coef[c] = (γ·rstd, b, c) of dx for channel c.
template <typename T>
__global__ void channel_grads(const T* dy, const T* relu_y, const T* x, const T* mean, const T* rstd, const T* gamma,
                              int64_t N, int64_t C, int64_t HW, bool training, T* dgamma, T* dbeta, T* coef,
                              T* dresidual) {
  using A = typename Acc<T>::type;
  const int64_t c = blockIdx.x, count = N * HW;
  A s = 0, sx = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    const int64_t at = ((i / HW) * C + c) * HW + i % HW;
    const T d = incoming(dy, relu_y, at);
    if (dresidual) dresidual[at] = d;
    const A g = d;
    s += g;
    sx += g * static_cast<A>(x[at]);
  }
  block_sum2(s, sx);
  if (threadIdx.x != 0) return;
  const A g = gamma ? static_cast<A>(gamma[c]) : A(1), mu = mean[c], r = rstd[c];
  if (dgamma) {
    dgamma[c] = static_cast<T>(r * (sx - mu * s));
    dbeta[c] = static_cast<T>(s);
  }
  norm_math::DxCoefficients<A> k{0, 0};
  if (training) k = norm_math::dx_coefficients<A>(g * s, g * sx, mu, r, count);
  coef[3 * c] = static_cast<T>(g * r);
  coef[3 * c + 1] = static_cast<T>(k.b);
  coef[3 * c + 2] = static_cast<T>(k.c);
}

template <typename T>
__global__ void input_grad(const T* dy, const T* relu_y, const T* x, const T* coef, int64_t total, int64_t C,
                           int64_t HW, T* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const T* k = coef + 3 * ((i / HW) % C);
    dx[i] = k[0] * incoming(dy, relu_y, i) + k[1] * x[i] + k[2];
  }
}

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                        Tensor& running_var, bool training, double momentum, double eps,
                        const kernels::NormEpilogue& then, kernels::NormForward& out) {
  const int device = x.device().index;
  set_device(device, "batch_norm");
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / std::max<int64_t>(N * C, 1);
  cudaStream_t s = stream(device);
  dispatch_floating(x.dtype(), "batch_norm", [&](auto v) {
    using T = decltype(v);
    channel_stats<T><<<C, kThreads, 0, s>>>(x.data<T>(), N, C, HW, training, momentum, eps,
                                            data_or_null<T>(running_mean), data_or_null<T>(running_var),
                                            out.mean.data<T>(), out.rstd.data<T>());
    MINIDL_CUDA_CHECK(cudaGetLastError(), "batch_norm");
    normalize<T><<<blocks_for(x.numel()), kThreads, 0, s>>>(x.data<T>(), out.mean.data<T>(), out.rstd.data<T>(),
                                                          data_or_null<T>(weight), data_or_null<T>(bias),
                                                          x.numel(), C, HW, ChannelOf{},
                                                          data_or_null<T>(then.residual), then.relu, out.y.data<T>());
    MINIDL_CUDA_CHECK(cudaGetLastError(), "batch_norm");
  });
}
MINIDL_REGISTER_KERNEL(batch_norm_forward_kernel, CUDA, batch_norm_forward);

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, const Tensor& relu_y, kernels::NormGrads& grads) {
  const int device = x.device().index;
  set_device(device, "batch_norm_backward");
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / std::max<int64_t>(N * C, 1);
  Tensor coef = Tensor::empty({C, 3}, x.dtype(), x.device());
  cudaStream_t s = stream(device);
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto v) {
    using T = decltype(v);
    channel_grads<T><<<C, kThreads, 0, s>>>(dy.data<T>(), data_or_null<T>(relu_y), x.data<T>(), mean.data<T>(),
                                            rstd.data<T>(), data_or_null<T>(weight), N, C, HW, training,
                                            data_or_null<T>(grads.dweight), data_or_null<T>(grads.dbias),
                                            coef.data<T>(), data_or_null<T>(grads.dresidual));
    MINIDL_CUDA_CHECK(cudaGetLastError(), "batch_norm_backward");
    if (!grads.dx.defined()) return;
    input_grad<T><<<blocks_for(x.numel()), kThreads, 0, s>>>(dy.data<T>(), data_or_null<T>(relu_y), x.data<T>(),
                                                           coef.data<T>(), x.numel(), C, HW, grads.dx.data<T>());
    MINIDL_CUDA_CHECK(cudaGetLastError(), "batch_norm_backward");
  });
}
MINIDL_REGISTER_KERNEL(batch_norm_backward_kernel, CUDA, batch_norm_backward);

}  // namespace

}  // namespace minidl::cuda
