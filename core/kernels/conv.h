// 2-D convolution. The op in autograd/ops/conv2d.cpp checks shapes and names the user's error;
// these check devices and dtypes, allocate and skip empty tensors.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// y[N, K, P, Q] = conv(x[N, C, H, W], w[K, C, R, S]) + bias[K] (bias may be undefined).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win);
/// Inference: y = relu(bn(conv(x, w)) + residual) (NormEpilogue's parts optional), bn an eval-mode
/// BatchNorm (its running statistics) after a convolution without bias — the norm applied in the
/// convolution's own output pass where the device has a kernel for it (CPU), else the two
/// kernels one after the other. The same values either way.
Tensor conv2d_batch_norm_eval(const Tensor& x, const Tensor& w, const Window2d& win, const BatchNormEval& bn,
                              const NormEpilogue& then = {});
/// Inference: y = relu(group_norm(conv(x, w)) + residual) (NormEpilogue's parts optional), the
/// norm applied to each sample of the convolution's output while it is still in cache where the
/// device has a kernel for it (CPU), else the two kernels one after the other. The same values
/// either way.
Tensor conv2d_group_norm(const Tensor& x, const Tensor& w, const Window2d& win, const GroupNormParams& gn,
                         const NormEpilogue& then = {});
/// conv2d_forward(x, w, bias, win) + residual (of the output's shape), the residual added in the
/// convolution's output pass where the device has that kernel, by a separate add otherwise.
Tensor conv2d_add_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win,
                          const Tensor& residual);
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win, bool need_dx,
                            bool need_dw, bool need_dbias);

// ---- kernels: y allocated; grads' defined members allocated and to be filled; no tensor empty ----
inline KernelTable<void(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win, Tensor& y)>
    conv2d_forward_kernel{"conv2d"};
inline KernelTable<void(const Tensor& x, const Tensor& w, const Window2d& win, const BatchNormEval& bn,
                        const NormEpilogue& then, Tensor& y)>
    conv2d_batch_norm_eval_kernel{"conv2d_batch_norm_eval"};
inline KernelTable<void(const Tensor& x, const Tensor& w, const Window2d& win, const GroupNormParams& gn,
                        const NormEpilogue& then, Tensor& y)>
    conv2d_group_norm_kernel{"conv2d_group_norm"};
inline KernelTable<void(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win,
                        const Tensor& residual, Tensor& y)>
    conv2d_add_forward_kernel{"conv2d_add"};
inline KernelTable<void(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win, Conv2dGrads& grads)>
    conv2d_backward_kernel{"conv2d_backward"};

}  // namespace minidl::kernels
