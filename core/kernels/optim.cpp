// The optimizer updates' dispatcher.
#include "optim.h"

#include "checks.h"

namespace minidl::kernels {

void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step) {
  checks::floating_like(param, {&grad, &momentum_buffer}, "sgd_step");
  if (param.numel() == 0) return;
  sgd_step_kernel.at(param.device())(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                                     first_step);
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  checks::floating_like(param, {&grad, &exp_avg, &exp_avg_sq}, "adam_step");
  if (param.numel() == 0) return;
  adam_step_kernel.at(param.device())(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                                      decoupled);
}

}  // namespace minidl::kernels
