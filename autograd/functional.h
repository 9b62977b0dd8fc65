// The differentiable neural-network ops (PyTorch's torch.nn.functional): each checks its
// arguments, runs a forward kernel and records a node whose backward runs the matching
// backward kernel. Layers (layers/) are thin Modules around these.
// Dims: N batch, C channels, H W input size, K output channels, R S kernel size.
#pragma once

#include "../core/kernels/types.h"
#include "../core/random.h"
#include "ops.h"

namespace minidl {

/// y[N, K, P, Q] = x[N, C, H, W] ⋆ weight[K, C, R, S] + bias[K]; bias may be undefined.
/// Square stride and zero padding, as in torch.nn.functional.conv2d(x, w, b, stride, padding).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0);

/// conv2d(x, weight, bias, stride, padding) + residual, residual of the output's shape: the add
/// done in the convolution's own output pass where the device has a kernel for it (the CPU), by
/// a separate add otherwise. The same values and gradients as the two ops (the residual's
/// gradient is the output's); pre-activation ResNet blocks end with it (models/norm.h's conv_add).
Tensor conv2d_add(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                  const Tensor& residual);

/// y[*, out] = x[*, in] · weight[out, in]ᵀ + bias[out]; bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

/// What a norm's output goes through in its own pass over memory: `then` = {residual, relu}
/// gives relu(norm(x) + residual) — the same values and gradients as relu(add(norm(x), residual))
/// with one pass instead of three each way (ResNet blocks, models/norm.h's norm_relu).
using NormEpilogue = kernels::NormEpilogue;

/// GroupNorm over x[N, C, *]: mean and biased variance per (sample, group of C/G channels),
/// then y = x̂·weight[c] + bias[c] (weight, bias [C] or undefined).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5, const NormEpilogue& then = {});

/// BatchNorm over x[N, C, *]. With `training`, normalizes with the batch's mean and biased
/// variance and, when running_mean/var are defined, updates them in place (momentum, unbiased
/// variance); otherwise normalizes with running_mean/var.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), bool training = false, double momentum = 0.1, double eps = 1e-5,
                  const NormEpilogue& then = {});

/// Inference: relu(bn(conv2d(x, weight, no bias, stride, padding)) + residual) (`then`'s parts
/// optional), bn an eval-mode BatchNorm — its running statistics, bn_weight and bn_bias [K] or
/// undefined — applied in the convolution's own output pass where the device has a kernel for it
/// (the CPU): one pass over the output instead of two. The values equal the ops one after the
/// other. No graph is recorded: an Error if gradients are recorded and an input requires grad.
/// (models/norm.h's conv_norm_relu picks it for a Conv2d and an eval BatchNorm2d.)
Tensor conv2d_batch_norm_eval(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                              const Tensor& running_mean, const Tensor& running_var, const Tensor& bn_weight,
                              const Tensor& bn_bias, double eps = 1e-5, const NormEpilogue& then = {});

/// Inference: relu(group_norm(conv2d(x, weight, no bias, stride, padding), num_groups, gn_weight,
/// gn_bias, eps) + residual) (`then`'s parts optional), the norm applied to each sample (or chunk
/// of samples) as soon as the convolution has written it, while it is still in cache, where the
/// device has a kernel for it (the CPU) — where separately it would take two more passes over the
/// whole output. The values equal the ops one after the other. No graph is recorded: an Error if
/// gradients are recorded and an input requires grad. (models/norm.h's conv_norm_relu picks it for
/// a Conv2d and a GroupNorm.)
Tensor conv2d_group_norm(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding, int64_t num_groups,
                         const Tensor& gn_weight, const Tensor& gn_bias, double eps = 1e-5,
                         const NormEpilogue& then = {});

/// Max over kernel×kernel windows (stride defaults to kernel; padding counts as -inf).
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
/// Mean over kernel×kernel windows (stride defaults to kernel; zero padding counts in the mean).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
/// Mean over PyTorch's adaptive bins, to [N, C, out_h, out_w]; (1, 1) is global average pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h = 1, int64_t out_w = 1);
/// Merges dims start_dim..end: [N, C, H, W] -> [N, C·H·W].
Tensor flatten(const Tensor& x, int64_t start_dim = 1);

/// In training, zeroes each element with probability p and scales the rest by 1 / (1 − p)
/// (torch.nn.functional.dropout); the identity otherwise. The mask comes from `gen`.
Tensor dropout(const Tensor& x, double p, bool training = true, Generator& gen = default_generator());

/// log(softmax(x)) along the last dim (dim must be the last one).
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
/// Mean cross-entropy of logits[N, K] against integer labels[N] (int64 or int32), with optional
/// label smoothing ε: the target puts 1 − ε + ε/K on the label and ε/K on every other class.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0);

}  // namespace minidl
