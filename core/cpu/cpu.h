// The CPU kernels behind core/kernels.h. Arguments arrive checked: same dtype, same device,
// shapes already validated and `out` allocated with the result's shape.
#pragma once

#include <vector>

#include "../kernels.h"

namespace minidl::cpu {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out);
void pow(const Tensor& x, double exponent, Tensor& out);
void broadcast_to(const Tensor& x, Tensor& out);
void cast(const Tensor& x, Tensor& out);

enum class Reduction { Sum, Max };
/// out has x's rank, with size 1 on every reduced dim (keepdim layout).
void reduce(Reduction how, const Tensor& x, const std::vector<bool>& reduced, Tensor& out);

void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out);
void transpose(const Tensor& x, Tensor& out);

// ---- neural-network kernels: same signatures as in core/kernels.h ----
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const kernels::Window2d& win);
kernels::Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const kernels::Window2d& win,
                                     bool need_dx, bool need_dw, bool need_dbias);
kernels::NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                                        double eps);
kernels::NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                       const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams);
kernels::NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                        Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                                        double eps);
kernels::NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                       const Tensor& weight, bool training, bool need_dx, bool need_dparams);
kernels::MaxPoolForward max_pool2d_forward(const Tensor& x, const kernels::Window2d& win);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d_forward(const Tensor& x, const kernels::Window2d& win);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const kernels::Window2d& win);
Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);
Tensor log_softmax_forward(const Tensor& x);
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y);
kernels::CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels,
                              double label_smoothing);
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step);
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled);

}  // namespace minidl::cpu
