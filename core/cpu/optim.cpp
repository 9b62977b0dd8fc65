// Optimizer updates on the CPU: elementwise, in place on the parameter and its state; the
// per-element arithmetic is core/optim_math.h's, shared with the CUDA kernels.
#include "../optim_math.h"
#include "../kernels/optim.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

void sgd_step(Tensor& param, const Tensor& grad, Tensor& buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool first_step) {
  const int64_t n = param.numel();
  dispatch_floating(param.dtype(), "sgd_step", [&](auto v) {
    using T = decltype(v);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* b = momentum != 0 ? buf.data<T>() : nullptr;
    const auto update = optim_math::sgd_update<T>(lr, momentum, dampening, weight_decay, nesterov, first_step);
#pragma omp parallel for simd if (n > stream_grain())
    for (int64_t i = 0; i < n; ++i) update(p[i], g[i], b ? b + i : nullptr);
  });
}
MINIDL_REGISTER_KERNEL(sgd_step_kernel, CPU, sgd_step);

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const int64_t n = param.numel();
  dispatch_floating(param.dtype(), "adam_step", [&](auto v) {
    using T = decltype(v);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* s = exp_avg_sq.data<T>();
    const auto update = optim_math::adam_update<T>(step, lr, beta1, beta2, eps, weight_decay, decoupled);
#pragma omp parallel for simd if (n > stream_grain())
    for (int64_t i = 0; i < n; ++i) update(p[i], g[i], m[i], s[i]);
  });
}
MINIDL_REGISTER_KERNEL(adam_step_kernel, CPU, adam_step);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
