// The raw tensor kernels: plain functions from tensors to a new tensor, no autograd.
// Each checks its arguments here, once, then dispatches on the device to core/cpu/*.cpp
// (and, with the CUDA backend, core/cuda/*.cu). autograd/ops builds on these.
#pragma once

#include <vector>

#include "tensor.h"

namespace minidl::kernels {

/// Elementwise binary ops with NumPy broadcasting.
/// Eq gives 1 where a == b else 0; ReluGrad(grad, x) gives grad where x > 0 else 0.
enum class BinaryOp { Add, Sub, Mul, Div, Eq, ReluGrad };
enum class UnaryOp { Neg, Relu, Exp, Log, Sqrt };

/// out = a (op) b, shapes broadcast: [N, C, H, W] (op) [1, C, 1, 1] -> [N, C, H, W]
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor unary(UnaryOp op, const Tensor& x);
/// out = x ^ exponent
Tensor pow(const Tensor& x, double exponent);
/// out = x * scale, a shortcut for binary(Mul, x, scalar)
Tensor scale(const Tensor& x, double scale);

/// Sum over `dims` (all dims when empty); keepdim leaves them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Mean over `dims` (all dims when empty).
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Maximum over `dims` (all dims when empty).
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Repeats x along its size-1 (and missing leading) dims to `shape`.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Inverse of broadcast_to: sums x down to `shape` (the gradient of a broadcast).
Tensor sum_to(const Tensor& x, const Shape& shape);

/// out[M, N] = op(a) · op(b), op = transpose when the flag is set; a, b 2-D (BLAS gemm).
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// out[j, i] = x[i, j], a contiguous copy.
Tensor transpose(const Tensor& x);

/// A view of x's storage with a new shape; one size may be -1.
Tensor reshape(const Tensor& x, const Shape& shape);
/// A contiguous copy with its own storage.
Tensor copy(const Tensor& x);
/// A copy converted to dtype.
/// A copy of x on `device` (x itself when it is already there); no graph.
Tensor to_device(const Tensor& x, Device device);
Tensor cast(const Tensor& x, DType dtype);
/// Copies src's values into dst's storage (same number of elements; converts the dtype).
void copy_(Tensor& dst, const Tensor& src);

// ---- Neural-network kernels. These trust their arguments: the differentiable ops in
// ---- autograd/ops/ check shapes, dtypes and devices (and name the op) before calling them.
// Dims: N batch, C channels, H W input size, K output channels, R S kernel size,
// P Q output size, G groups, HW = H·W.

/// Geometry of a 2-D convolution or pooling window.
struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  /// Output size along one dim: floor((in + 2·pad − kernel) / stride) + 1.
  static int64_t out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
    return (in + 2 * pad - kernel) / stride + 1;
  }
};

/// y[N, K, P, Q] = conv(x[N, C, H, W], w[K, C, R, S]) + bias[K] (bias may be undefined).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win);
struct Conv2dGrads {
  Tensor dx, dw, dbias;  // undefined where not asked for
};
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win, bool need_dx,
                            bool need_dw, bool need_dbias);

/// Output and the statistics a normalization's backward needs: mean and rstd = 1/sqrt(var + eps),
/// [N, G] for GroupNorm, [C] for BatchNorm.
struct NormForward {
  Tensor y, mean, rstd;
};
struct NormGrads {
  Tensor dx, dweight, dbias;  // undefined where not asked for (or when weight is undefined)
};

/// GroupNorm over x[N, C, *]: statistics per (sample, group of C/G channels); weight, bias [C] or undefined.
NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps);
NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams);

/// BatchNorm over x[N, C, *]. Training: batch statistics, and running_mean/var (if defined) move
/// by `momentum` towards the batch mean and unbiased variance. Eval: the running statistics.
NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                               Tensor& running_var, bool training, double momentum, double eps);
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, bool need_dx, bool need_dparams);

/// Max pooling; `indices` [N, C, P, Q] (int64) holds the flat h·W + w of each maximum.
struct MaxPoolForward {
  Tensor y, indices;
};
MaxPoolForward max_pool2d_forward(const Tensor& x, const Window2d& win);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
/// Average pooling; zero padding counts in the average (PyTorch's count_include_pad=True).
Tensor avg_pool2d_forward(const Tensor& x, const Window2d& win);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Window2d& win);
/// Adaptive average pooling to [N, C, out_h, out_w] with PyTorch's bin edges.
Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

/// log_softmax along the last dim of x[M, K].
Tensor log_softmax_forward(const Tensor& x);
/// dx = dy − exp(y) · Σ dy, with y the forward's output.
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y);
/// Mean over samples of −Σ_k t[n, k] · log p[n, k], with t = (1 − ε)·onehot(label) + ε/K.
/// Returns the scalar loss and log p [N, K] (for backward).
struct CrossEntropyForward {
  Tensor loss, log_probs;
};
CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double label_smoothing);

// ---- Optimizer updates, in place on the parameter and its state ----

/// PyTorch's SGD: d = g + wd·p; buf = μ·buf + (1 − dampening)·d (buf = d on the first step);
/// d = nesterov ? d + μ·buf : buf; p −= lr·d. `momentum_buffer` is unused when μ = 0.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step);
/// PyTorch's Adam (decoupled = false: L2 added to g) and AdamW (decoupled: p ·= 1 − lr·wd);
/// `step` counts from 1.
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled);

}  // namespace minidl::kernels
