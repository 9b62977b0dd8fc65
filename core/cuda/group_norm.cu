// GroupNorm on CUDA: our own kernels, two each way (the CPU version is core/cpu/group_norm.cpp).
// Dims: N batch, C channels, G groups of cg = C/G channels, HW spatial, D = cg·HW values per
// (sample, group), which lie contiguously in memory.
//
// forward:  group_stats  one block per (n, g): Welford mean and M2 per thread over a strided
//                        share of the D values, merged across the warp by shuffles and across
//                        warps in shared memory → mean, rstd = 1/sqrt(M2/D + eps)
//           normalize    one thread per element: y = (x − mean)·rstd·γ[c] + β[c]
// backward: channel_sums one block per (n, c): Σdy and Σdy·x over HW
//           input_grad   blocks over (n, g, chunk of D): each block first folds its group's
//                        channel sums into Σγ·dy and Σγ·dy·x (norm_math.h turns them into
//                        dx = γ·rstd·dy + b·x + c), then writes dx for its chunk; the blocks of
//                        sample 0's first chunk also sum dγ and dβ of their group's channels over n.
// float32 data is accumulated in float: Welford's update keeps the variance of a large group
// (e.g. 32 channels × 128 × 128) accurate where Σx² − (Σx)² would cancel, and every sum is a
// tree over threads of short per-thread runs rather than one long running sum.
#include <algorithm>

#include "../norm_math.h"
#include "../kernels/norm.h"
#include "norm.cuh"
#include "runtime.h"

namespace minidl::cuda {
namespace {

constexpr int64_t kChunk = 4096;  // values of one group per input_grad block

template <typename T>
__global__ void group_stats(const T* x, int64_t D, double eps, T* mean, T* rstd) {
  using A = typename Acc<T>::type;
  const T* group = x + blockIdx.x * D;
  Welford<A> w;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) w.add(static_cast<A>(group[i]));
  w = block_merge(w);
  if (threadIdx.x == 0) {
    mean[blockIdx.x] = static_cast<T>(w.mean);
    rstd[blockIdx.x] = static_cast<T>(rsqrt(w.m2 / static_cast<A>(D) + static_cast<A>(eps)));
  }
}

template <typename T>
__global__ void channel_sums(const T* dy, const T* relu_y, const T* x, int64_t HW, T* sum_dy, T* sum_dy_x,
                             T* dresidual) {
  using A = typename Acc<T>::type;
  const int64_t offset = blockIdx.x * HW;
  A s = 0, sx = 0;
  for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
    const T d = incoming(dy, relu_y, offset + i);
    if (dresidual) dresidual[offset + i] = d;
    const A g = d;
    s += g;
    sx += g * static_cast<A>(x[offset + i]);
  }
  block_sum2(s, sx);
  if (threadIdx.x == 0) {
    sum_dy[blockIdx.x] = static_cast<T>(s);
    sum_dy_x[blockIdx.x] = static_cast<T>(sx);
  }
}

// blockIdx.x = ng·chunks + chunk. dx may be null (only dγ, dβ asked for), and so may dgamma.
template <typename T>
__global__ void input_grad(const T* dy, const T* relu_y, const T* x, const T* mean, const T* rstd, const T* gamma,
                           const T* sum_dy,
                           const T* sum_dy_x, int64_t N, int64_t C, int64_t G, int64_t HW, int64_t chunks, T* dx,
                           T* dgamma, T* dbeta) {
  using A = typename Acc<T>::type;
  const int64_t cg = C / G, D = cg * HW;
  const int64_t ng = blockIdx.x / chunks, chunk = blockIdx.x % chunks, n = ng / G, g = ng % G;
  const int64_t first = g * cg;  // first channel of the group
  if (dgamma && n == 0 && chunk == 0) {
    for (int64_t c = first + threadIdx.x; c < first + cg; c += blockDim.x) {
      A dg = 0, db = 0;
      for (int64_t m = 0; m < N; ++m) {
        const int64_t mg = m * G + g;
        dg += static_cast<A>(rstd[mg]) * (static_cast<A>(sum_dy_x[m * C + c]) - static_cast<A>(mean[mg]) * sum_dy[m * C + c]);
        db += sum_dy[m * C + c];
      }
      dgamma[c] = static_cast<T>(dg);
      dbeta[c] = static_cast<T>(db);
    }
  }
  if (!dx) return;
  __shared__ norm_math::DxCoefficients<A> k;
  A s = 0, sx = 0;
  for (int64_t i = threadIdx.x; i < cg; i += blockDim.x) {
    const A gam = gamma ? static_cast<A>(gamma[first + i]) : A(1);
    s += gam * static_cast<A>(sum_dy[n * C + first + i]);
    sx += gam * static_cast<A>(sum_dy_x[n * C + first + i]);
  }
  block_sum2(s, sx);
  if (threadIdx.x == 0) k = norm_math::dx_coefficients<A>(s, sx, mean[ng], rstd[ng], D);
  __syncthreads();
  const A r = rstd[ng];
  const int64_t begin = ng * D + chunk * kChunk, end = ng * D + ((chunk + 1) * kChunk < D ? (chunk + 1) * kChunk : D);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const int64_t c = (i / HW) % C;
    const A a = r * (gamma ? static_cast<A>(gamma[c]) : A(1));
    dx[i] = static_cast<T>(a * static_cast<A>(incoming(dy, relu_y, i)) + k.b * static_cast<A>(x[i]) + k.c);
  }
}


void group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps,
                        const kernels::NormEpilogue& then, kernels::NormForward& out) {
  const int device = x.device().index;
  set_device(device, "group_norm");
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / std::max<int64_t>(N * C, 1), cg = C / groups;
  cudaStream_t s = stream(device);
  dispatch_floating(x.dtype(), "group_norm", [&](auto v) {
    using T = decltype(v);
    group_stats<T><<<N * groups, kThreads, 0, s>>>(x.data<T>(), cg * HW, eps, out.mean.data<T>(), out.rstd.data<T>());
    MINIDL_CUDA_CHECK(cudaGetLastError(), "group_norm");
    normalize<T><<<blocks_for(x.numel()), kThreads, 0, s>>>(x.data<T>(), out.mean.data<T>(), out.rstd.data<T>(),
                                                          data_or_null<T>(weight), data_or_null<T>(bias), x.numel(), C,
                                                          HW, GroupOf{cg}, data_or_null<T>(then.residual), then.relu,
                                                          out.y.data<T>());
    MINIDL_CUDA_CHECK(cudaGetLastError(), "group_norm");
  });
}
MINIDL_REGISTER_KERNEL(group_norm_forward_kernel, CUDA, group_norm_forward);

void group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, int64_t groups, const Tensor& relu_y, kernels::NormGrads& grads) {
  const int device = x.device().index;
  set_device(device, "group_norm_backward");
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / std::max<int64_t>(N * C, 1), cg = C / groups;
  const bool need_dx = grads.dx.defined();
  Tensor sum_dy = Tensor::empty({N, C}, x.dtype(), x.device()), sum_dy_x = Tensor::empty({N, C}, x.dtype(), x.device());
  cudaStream_t s = stream(device);
  dispatch_floating(x.dtype(), "group_norm_backward", [&](auto v) {
    using T = decltype(v);
    channel_sums<T><<<N * C, kThreads, 0, s>>>(dy.data<T>(), data_or_null<T>(relu_y), x.data<T>(), HW,
                                               sum_dy.data<T>(), sum_dy_x.data<T>(), data_or_null<T>(grads.dresidual));
    MINIDL_CUDA_CHECK(cudaGetLastError(), "group_norm_backward");
    const int64_t chunks = need_dx ? (cg * HW + kChunk - 1) / kChunk : 1;
    input_grad<T><<<N * groups * chunks, kThreads, 0, s>>>(
        dy.data<T>(), data_or_null<T>(relu_y), x.data<T>(), mean.data<T>(), rstd.data<T>(), data_or_null<T>(weight),
        sum_dy.data<T>(), sum_dy_x.data<T>(), N, C, groups, HW, chunks, data_or_null<T>(grads.dx),
        data_or_null<T>(grads.dweight), data_or_null<T>(grads.dbias));
    MINIDL_CUDA_CHECK(cudaGetLastError(), "group_norm_backward");
  });
}
MINIDL_REGISTER_KERNEL(group_norm_backward_kernel, CUDA, group_norm_backward);

}  // namespace

}  // namespace minidl::cuda
