// Pieces the CUDA normalization kernels share (group_norm.cu, batch_norm.cu): Welford statistics
// merged across a block, block sums, and the normalize-and-affine kernel.
#pragma once

#include <algorithm>

#include "../elementwise_ops.h"
#include "../kernels/types.h"
#include "../moments.h"
#include "launch.cuh"

namespace minidl::cuda {



template <typename T>
struct Acc {  // the accumulator type: float for float, double for double
  using type = T;
};

// Per-thread statistics are core/moments.h's Moments (Welford's update, Chan's merge). The
// count is kept in the accumulator type: exact for float up to 2^24 values per thread or merge.
template <typename A>
using Welford = Moments<A>;

template <typename V>
__device__ V shuffle_down(V v, int offset) {
  return __shfl_down_sync(0xffffffffu, v, offset);
}

// Merges the Welford states of a block; the result is valid in thread 0.
template <typename A>
__device__ Welford<A> block_merge(Welford<A> w) {
  __shared__ Welford<A> warps[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) {
    Welford<A> o{shuffle_down(w.n, offset), shuffle_down(w.mean, offset), shuffle_down(w.m2, offset)};
    w.merge(o);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warps[warp] = w;
  __syncthreads();
  if (warp == 0) {
    w = lane < kThreads / 32 ? warps[lane] : Welford<A>{};
    for (int offset = 16; offset > 0; offset /= 2) {
      Welford<A> o{shuffle_down(w.n, offset), shuffle_down(w.mean, offset), shuffle_down(w.m2, offset)};
      w.merge(o);
    }
  }
  return w;
}

// Sums two values over a block; the result is valid in thread 0.
template <typename A>
__device__ void block_sum2(A& a, A& b) {
  __shared__ A sa[kThreads / 32], sb[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) {
    a += shuffle_down(a, offset);
    b += shuffle_down(b, offset);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    sa[warp] = a;
    sb[warp] = b;
  }
  __syncthreads();
  if (warp == 0) {
    a = lane < kThreads / 32 ? sa[lane] : A(0);
    b = lane < kThreads / 32 ? sb[lane] : A(0);
    for (int offset = 16; offset > 0; offset /= 2) {
      a += shuffle_down(a, offset);
      b += shuffle_down(b, offset);
    }
  }
  __syncthreads();  // sa, sb may be reused by the caller's next call
}

// Which statistics an element's (sample, channel) row nc = n·C + c uses: GroupNorm's group
// nc / cg, BatchNorm's channel nc % C.
struct GroupOf {
  int64_t channels_per_group;
  __device__ int64_t operator()(int64_t nc, int64_t) const { return nc / channels_per_group; }
};
struct ChannelOf {
  __device__ int64_t operator()(int64_t nc, int64_t C) const { return nc % C; }
};

// y = (x − mean[s])·rstd[s]·γ[c] + β[c], s = stat(n·C + c, C), then the fused epilogue
// (kernels::NormEpilogue): + residual[i] where it is not null, relu where `relu`.
template <typename T, typename Stat>
__global__ void normalize(const T* x, const T* mean, const T* rstd, const T* gamma, const T* beta, int64_t total,
                          int64_t C, int64_t HW, Stat stat, const T* residual, bool relu, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t nc = i / HW, c = nc % C, s = stat(nc, C);
    const T scale = rstd[s] * (gamma ? gamma[c] : T(1));
    T v = (x[i] - mean[s]) * scale + (beta ? beta[c] : T(0));
    if (residual) v += residual[i];
    y[i] = relu ? ops::Relu<T>{}(v) : v;
  }
}

// The gradient reaching the norm's own output: dy, or with the fused ReLU dy where the ReLU's
// output relu_y was positive.
template <typename T>
__device__ T incoming(const T* dy, const T* relu_y, int64_t i) {
  return relu_y ? ops::ReluGrad<T>{}(dy[i], relu_y[i]) : dy[i];
}

}  // namespace minidl::cuda
