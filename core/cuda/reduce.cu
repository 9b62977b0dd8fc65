// Sum and max over any set of dims on CUDA: one block per output element, its threads striding
// over the reduced elements, then a tree across the block (float accumulation for float32).
#include <algorithm>
#include <cmath>

#include "../elementwise_ops.h"
#include "../kernels/matmul.h"
#include "../kernels/reduce.h"
#include "launch.cuh"

namespace minidl::cuda {
namespace {

constexpr int kMaxDims = 8;

// x's dims split into kept ones (enumerated by the output index) and reduced ones.
struct Split {
  int kept = 0, reduced = 0;
  int64_t kept_sizes[kMaxDims], kept_strides[kMaxDims], red_sizes[kMaxDims], red_strides[kMaxDims];
  int64_t reduced_count = 1;
};

__device__ int64_t offset_of(int64_t index, int rank, const int64_t* sizes, const int64_t* strides) {
  int64_t offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    offset += (index % sizes[d]) * strides[d];
    index /= sizes[d];
  }
  return offset;
}

template <typename T>
__global__ void reduce_kernel(const T* x, Split s, bool is_max, T* out) {
  using A = T;  // float accumulates in float, double in double
  __shared__ A partial[kThreads];
  const int64_t base = offset_of(blockIdx.x, s.kept, s.kept_sizes, s.kept_strides);
  A acc = is_max ? -INFINITY : A(0);
  for (int64_t r = threadIdx.x; r < s.reduced_count; r += blockDim.x) {
    const A v = x[base + offset_of(r, s.reduced, s.red_sizes, s.red_strides)];
    acc = is_max ? ops::max_with_nan(acc, v) : acc + v;  // NaN propagates, as on the CPU
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      const A o = partial[threadIdx.x + half];
      partial[threadIdx.x] = is_max ? ops::max_with_nan(partial[threadIdx.x], o) : partial[threadIdx.x] + o;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

template <typename T>
__global__ void transpose_kernel(const T* x, int64_t rows, int64_t cols, T* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows * cols; i += int64_t(gridDim.x) * blockDim.x)
    out[(i % cols) * rows + i / cols] = x[i];
}

void reduce(kernels::Reduction how, const Tensor& x, const std::vector<bool>& reduced, Tensor& out) {
  const bool is_max = how == kernels::Reduction::Max;
  const int device = x.device().index;
  set_device(device, is_max ? "max" : "sum");
  MINIDL_CHECK(x.dim() <= kMaxDims, is_max ? "max" : "sum", ": CUDA reductions take at most ", kMaxDims,
               " dims, found ", x.dim());
  Split s;
  int64_t stride = 1;
  for (int64_t d = x.dim() - 1; d >= 0; --d) {  // row-major strides, innermost first
    const int64_t size = x.size(d);
    if (reduced[d]) {
      s.red_sizes[s.reduced] = size;
      s.red_strides[s.reduced++] = stride;
      s.reduced_count *= size;
    } else {
      s.kept_sizes[s.kept] = size;
      s.kept_strides[s.kept++] = stride;
    }
    stride *= size;
  }
  std::reverse(s.red_sizes, s.red_sizes + s.reduced);  // outermost first, as offset_of reads them
  std::reverse(s.red_strides, s.red_strides + s.reduced);
  std::reverse(s.kept_sizes, s.kept_sizes + s.kept);
  std::reverse(s.kept_strides, s.kept_strides + s.kept);
  MINIDL_CHECK(out.numel() <= 2147483647, "sum: CUDA reductions make at most 2^31 − 1 outputs, found ", out.numel());
  dispatch_floating(x.dtype(), is_max ? "max" : "sum", [&](auto v) {
    using T = decltype(v);
    reduce_kernel<T><<<static_cast<unsigned>(out.numel()), kThreads, 0, stream(device)>>>(x.data<T>(), s, is_max,
                                                                                          out.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), is_max ? "max" : "sum");
}
MINIDL_REGISTER_KERNEL(reduce_kernel, CUDA, reduce);

void transpose(const Tensor& x, Tensor& out) {
  const int device = x.device().index;
  set_device(device, "transpose");
  dispatch_floating(x.dtype(), "transpose", [&](auto v) {
    using T = decltype(v);
    const int blocks = static_cast<int>(std::min<int64_t>((x.numel() + kThreads - 1) / kThreads, 65535));
    transpose_kernel<T><<<blocks, kThreads, 0, stream(device)>>>(x.data<T>(), x.size(0), x.size(1), out.data<T>());
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "transpose");
}
MINIDL_REGISTER_KERNEL(transpose_kernel, CUDA, transpose);

}  // namespace

}  // namespace minidl::cuda
