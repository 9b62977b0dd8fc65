// The CUDA kernels behind core/kernels.h (internal, like cpu/cpu.h): called by kernels.cpp for
// tensors on a CUDA device, after its argument checks. Each runs on its device's stream.
#pragma once

#include <vector>

#include "../kernels.h"

namespace minidl::cuda {

// Elementwise (elementwise.cu): arguments as for the CPU kernels in cpu/cpu.h, out allocated on
// the same device.
void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out);
void pow(const Tensor& x, double exponent, Tensor& out);
void broadcast_to(const Tensor& x, Tensor& out);
void cast(const Tensor& x, Tensor& out);

// Reductions and products (reduce.cu, matmul.cu).
/// Sum (or max) over the dims where `reduced` is true; out has x's rank with those dims of size 1.
void reduce(bool is_max, const Tensor& x, const std::vector<bool>& reduced, Tensor& out);
void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out);
void transpose(const Tensor& x, Tensor& out);

// Convolution through cuDNN (conv.cu).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const kernels::Window2d& win);
kernels::Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const kernels::Window2d& win,
                                     bool need_dx, bool need_dw, bool need_dbias);

// Pooling (pool.cu).
kernels::MaxPoolForward max_pool2d_forward(const Tensor& x, const kernels::Window2d& win);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d_forward(const Tensor& x, const kernels::Window2d& win);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const kernels::Window2d& win);
Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

// log_softmax and cross-entropy (softmax.cu).
Tensor log_softmax_forward(const Tensor& x);
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y);
kernels::CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels,
                              double label_smoothing);

// Optimizer updates (optim.cu).
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step);
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled);

// BatchNorm (batch_norm.cu) and GroupNorm (group_norm.cu).
kernels::NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                        Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                                        double eps);
kernels::NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                       const Tensor& weight, bool training, bool need_dx, bool need_dparams);
kernels::NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                                        double eps);
kernels::NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                       const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams);

}  // namespace minidl::cuda
