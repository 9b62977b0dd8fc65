// Optimizer updates on the CPU: elementwise, in place on the parameter and its state.
#include <cmath>

#include "cpu.h"

namespace minidl::cpu {

void sgd_step(Tensor& param, const Tensor& grad, Tensor& buf, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool first_step) {
  const int64_t n = param.numel();
  dispatch_floating(param.dtype(), "sgd_step", [&](auto v) {
    using T = decltype(v);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* b = momentum != 0 ? buf.data<T>() : nullptr;
    const T lr_ = static_cast<T>(lr), mu = static_cast<T>(momentum), damp = static_cast<T>(1 - dampening),
            wd = static_cast<T>(weight_decay);
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
      T d = g[i] + wd * p[i];
      if (b) {
        b[i] = first_step ? d : mu * b[i] + damp * d;
        d = nesterov ? d + mu * b[i] : b[i];
      }
      p[i] -= lr_ * d;
    }
  });
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const int64_t n = param.numel();
  // PyTorch's arithmetic: p −= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
  dispatch_floating(param.dtype(), "adam_step", [&](auto v) {
    using T = decltype(v);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* s = exp_avg_sq.data<T>();
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), step_size = static_cast<T>(lr / bc1),
            denom_scale = static_cast<T>(1 / bc2_sqrt), eps_ = static_cast<T>(eps),
            wd = static_cast<T>(weight_decay), shrink = static_cast<T>(1 - lr * weight_decay);
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
      T gi = g[i];
      if (decoupled) p[i] *= shrink;
      else gi += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      s[i] = b2 * s[i] + (1 - b2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(s[i]) * denom_scale + eps_);
    }
  });
}

}  // namespace minidl::cpu
