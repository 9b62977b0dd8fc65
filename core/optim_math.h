// One element of the optimizers' updates, shared by the CPU and CUDA kernels (cpu/optim.cpp,
// cuda/optim.cu): the same arithmetic, in the same order, as torch.optim.SGD and Adam/AdamW.
#pragma once

#include <cmath>

#include "host_device.h"

namespace minidl::optim_math {

/// d = g + wd·p; with momentum b = first ? d : μ·b + (1 − dampening)·d and d = nesterov ? d + μ·b : b;
/// then p −= lr·d.
template <typename T>
struct SgdUpdate {
  T lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, first_step;
  MINIDL_HOST_DEVICE void operator()(T& p, T g, T* buf) const {
    T d = g + weight_decay * p;
    if (buf) {
      *buf = first_step ? d : momentum * *buf + one_minus_dampening * d;
      d = nesterov ? d + momentum * *buf : *buf;
    }
    p -= lr * d;
  }
};

/// PyTorch's Adam: p −= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps), with the L2 term added to the
/// gradient (Adam) or p shrunk by 1 − lr·wd first (AdamW, `decoupled`).
template <typename T>
struct AdamUpdate {
  T beta1, beta2, step_size, denom_scale, eps, weight_decay, shrink;
  bool decoupled;
  MINIDL_HOST_DEVICE void operator()(T& p, T g, T& m, T& v) const {
    if (decoupled) p *= shrink;
    else g += weight_decay * p;
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    p -= step_size * m / (std::sqrt(v) * denom_scale + eps);
  }
};

template <typename T>
SgdUpdate<T> sgd_update(double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                        bool first_step) {
  return {static_cast<T>(lr), static_cast<T>(momentum), static_cast<T>(1 - dampening), static_cast<T>(weight_decay),
          nesterov, first_step};
}

template <typename T>
AdamUpdate<T> adam_update(int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                          bool decoupled) {
  const double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
  return {static_cast<T>(beta1), static_cast<T>(beta2), static_cast<T>(lr / bc1), static_cast<T>(1 / bc2_sqrt),
          static_cast<T>(eps), static_cast<T>(weight_decay), static_cast<T>(1 - lr * weight_decay), decoupled};
}

}  // namespace minidl::optim_math
