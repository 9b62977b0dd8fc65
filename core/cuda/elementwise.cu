// Elementwise CUDA kernels: binary ops with broadcasting (planned by core/broadcast.h, as on the
// CPU), unary maps, pow, casts. The ops themselves are core/elementwise_ops.h's functors, shared
// with the CPU. One thread per output element, grid-stride loops.
#include <algorithm>

#include "../broadcast.h"
#include "../elementwise_ops.h"
#include "../kernels/elementwise.h"
#include "launch.cuh"

namespace minidl::cuda {
namespace {

constexpr int kMaxDims = 8;

// A broadcast plan by value, for a kernel argument.
struct DevicePlan {
  int rank = 0;
  int64_t sizes[kMaxDims], a_strides[kMaxDims], b_strides[kMaxDims];
};

DevicePlan to_device_plan(const BroadcastPlan& p, const char* op) {
  MINIDL_CHECK(p.sizes.size() <= static_cast<size_t>(kMaxDims), op, ": CUDA kernels broadcast over at most ",
               kMaxDims, " dims, found ", p.sizes.size(), " after merging");
  DevicePlan d;
  d.rank = static_cast<int>(p.sizes.size());
  for (int i = 0; i < d.rank; ++i) {
    d.sizes[i] = p.sizes[i];
    d.a_strides[i] = p.a_strides[i];
    d.b_strides[i] = p.b_strides[i];
  }
  return d;
}

template <typename T, typename F>
__global__ void broadcast_kernel(const T* a, const T* b, T* out, int64_t total, DevicePlan p, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, ia = 0, ib = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int64_t idx = rest % p.sizes[d];
      rest /= p.sizes[d];
      ia += idx * p.a_strides[d];
      ib += idx * p.b_strides[d];
    }
    out[i] = f(a[ia], b[ib]);
  }
}

template <typename In, typename Out, typename F>
__global__ void map_kernel(const In* x, Out* out, int64_t total, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = f(x[i]);
}


template <typename T, typename F>
void broadcast(const T* a, const T* b, Tensor& out, const BroadcastPlan& plan, F f, const char* op) {
  const DevicePlan p = to_device_plan(plan, op);
  launch(out.device().index, op, [&](cudaStream_t s) {
    broadcast_kernel<<<blocks_for(out.numel()), kThreads, 0, s>>>(a, b, out.data<T>(), out.numel(), p, f);
  });
}

template <typename In, typename Out, typename F>
void map(const Tensor& x, Tensor& out, F f, const char* op) {
  launch(out.device().index, op, [&](cudaStream_t s) {
    map_kernel<<<blocks_for(x.numel()), kThreads, 0, s>>>(x.data<In>(), out.data<Out>(), x.numel(), f);
  });
}

void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const BroadcastPlan plan = plan_broadcast(a.shape(), b.shape(), out.shape());
  dispatch_floating(out.dtype(), "binary", [&](auto v) {
    using T = decltype(v);
    ops::with_binary<T>(op, [&](auto f) { broadcast(a.data<T>(), b.data<T>(), out, plan, f, "binary"); });
  });
}
MINIDL_REGISTER_KERNEL(binary_kernel, CUDA, binary);

void broadcast_to(const Tensor& x, Tensor& out) {
  const BroadcastPlan plan = plan_broadcast(x.shape(), x.shape(), out.shape());
  dispatch_floating(out.dtype(), "broadcast_to", [&](auto v) {
    using T = decltype(v);
    broadcast(x.data<T>(), x.data<T>(), out, plan, ops::First<T>{}, "broadcast_to");
  });
}
MINIDL_REGISTER_KERNEL(broadcast_to_kernel, CUDA, broadcast_to);

void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out) {
  dispatch_floating(x.dtype(), "unary", [&](auto v) {
    using T = decltype(v);
    ops::with_unary<T>(op, [&](auto f) { map<T, T>(x, out, f, "unary"); });
  });
}
MINIDL_REGISTER_KERNEL(unary_kernel, CUDA, unary);

void pow(const Tensor& x, double exponent, Tensor& out) {
  dispatch_floating(x.dtype(), "pow", [&](auto v) {
    using T = decltype(v);
    ops::with_pow<T>(exponent, [&](auto f) { map<T, T>(x, out, f, "pow"); });
  });
}
MINIDL_REGISTER_KERNEL(pow_kernel, CUDA, pow);

void cast(const Tensor& x, Tensor& out) {
  if (x.dtype() == out.dtype()) {
    launch(out.device().index, "to", [&](cudaStream_t s) {
      MINIDL_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), x.raw_data(), x.nbytes(), cudaMemcpyDeviceToDevice, s), "to");
    });
    return;
  }
  dispatch_all(x.dtype(), [&](auto vx) {
    using S = decltype(vx);
    dispatch_all(out.dtype(), [&](auto vo) {
      using D = decltype(vo);
      map<S, D>(x, out, ops::Cast<S, D>{}, "to");
    });
  });
}
MINIDL_REGISTER_KERNEL(cast_kernel, CUDA, cast);

}  // namespace

}  // namespace minidl::cuda
