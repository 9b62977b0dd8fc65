// GroupNorm and BatchNorm over x[N, C, *]. The ops in autograd/ops/ check shapes and groups;
// these check devices and dtypes, allocate and skip empty tensors.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// GroupNorm: statistics per (sample, group of C/G channels); weight, bias [C] or undefined.
/// `then` (types.h) fuses a residual add and a ReLU into the output pass; the backward then
/// takes the fused output y (undefined without the ReLU) to mask dy where y <= 0.
NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps,
                               const NormEpilogue& then = {});
NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams,
                              const Tensor& relu_y = Tensor(), bool need_dresidual = false);

/// BatchNorm. Training: batch statistics, and running_mean/var (if defined) move by `momentum`
/// towards the batch mean and unbiased variance. Eval: the running statistics.
NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                               Tensor& running_var, bool training, double momentum, double eps,
                               const NormEpilogue& then = {});
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, bool need_dx, bool need_dparams,
                              const Tensor& relu_y = Tensor(), bool need_dresidual = false);

// ---- kernels: out.y like x, out.mean and out.rstd [N, G] (GN) or [C] (BN) allocated; grads'
// ---- defined members allocated (dweight and dbias together); x not empty; the gradient
// ---- reaching the norm is dy, or relu_y's mask of it (elementwise_ops.h's ReluGrad) ----
inline KernelTable<void(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps,
                        const NormEpilogue& then, NormForward& out)>
    group_norm_forward_kernel{"group_norm"};
inline KernelTable<void(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        int64_t groups, const Tensor& relu_y, NormGrads& grads)>
    group_norm_backward_kernel{"group_norm_backward"};
inline KernelTable<void(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                        Tensor& running_var, bool training, double momentum, double eps, const NormEpilogue& then,
                        NormForward& out)>
    batch_norm_forward_kernel{"batch_norm"};
inline KernelTable<void(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                        bool training, const Tensor& relu_y, NormGrads& grads)>
    batch_norm_backward_kernel{"batch_norm_backward"};

}  // namespace minidl::kernels
