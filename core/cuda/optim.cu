// Optimizer updates on CUDA: one thread per parameter element, the arithmetic of
// core/optim_math.h (shared with the CPU).
#include <algorithm>

#include "../optim_math.h"
#include "../kernels/optim.h"
#include "launch.cuh"

namespace minidl::cuda {
namespace {


template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, optim_math::SgdUpdate<T> update) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    update(p[i], g[i], buf ? buf + i : nullptr);
}

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, optim_math::AdamUpdate<T> update) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    update(p[i], g[i], m[i], v[i]);
}


void sgd_step(Tensor& param, const Tensor& grad, Tensor& buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool first_step) {
  const int device = param.device().index;
  set_device(device, "sgd_step");
  dispatch_floating(param.dtype(), "sgd_step", [&](auto v) {
    using T = decltype(v);
    sgd_kernel<T><<<blocks_for(param.numel()), kThreads, 0, stream(device)>>>(
        param.data<T>(), grad.data<T>(), momentum != 0 ? buf.data<T>() : nullptr, param.numel(),
        optim_math::sgd_update<T>(lr, momentum, dampening, weight_decay, nesterov, first_step));
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "sgd_step");
}
MINIDL_REGISTER_KERNEL(sgd_step_kernel, CUDA, sgd_step);

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const int device = param.device().index;
  set_device(device, "adam_step");
  dispatch_floating(param.dtype(), "adam_step", [&](auto v) {
    using T = decltype(v);
    adam_kernel<T><<<blocks_for(param.numel()), kThreads, 0, stream(device)>>>(
        param.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(), param.numel(),
        optim_math::adam_update<T>(step, lr, beta1, beta2, eps, weight_decay, decoupled));
  });
  MINIDL_CUDA_CHECK(cudaGetLastError(), "adam_step");
}
MINIDL_REGISTER_KERNEL(adam_step_kernel, CUDA, adam_step);

}  // namespace

}  // namespace minidl::cuda
