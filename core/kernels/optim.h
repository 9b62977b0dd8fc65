// Optimizer updates, in place on the parameter and its state.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// PyTorch's SGD: d = g + wd·p; buf = μ·buf + (1 − dampening)·d (buf = d on the first step);
/// d = nesterov ? d + μ·buf : buf; p −= lr·d. `momentum_buffer` is unused when μ = 0.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step);
/// PyTorch's Adam (decoupled = false: L2 added to g) and AdamW (decoupled: p ·= 1 − lr·wd);
/// `step` counts from 1.
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled);

// ---- kernels: the same arguments, all tensors on one device, param not empty ----
inline KernelTable<void(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
                        double dampening, double weight_decay, bool nesterov, bool first_step)>
    sgd_step_kernel{"sgd_step"};
inline KernelTable<void(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
                        double beta1, double beta2, double eps, double weight_decay, bool decoupled)>
    adam_step_kernel{"adam_step"};

}  // namespace minidl::kernels
