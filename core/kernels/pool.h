// Max, average and adaptive-average pooling over x[N, C, H, W].
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

MaxPoolForward max_pool2d_forward(const Tensor& x, const Window2d& win);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
/// Average pooling; zero padding counts in the average (PyTorch's count_include_pad=True).
Tensor avg_pool2d_forward(const Tensor& x, const Window2d& win);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Window2d& win);
/// Adaptive average pooling to [N, C, out_h, out_w] with PyTorch's bin edges.
Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

// ---- kernels: outputs allocated ([N, C, P, Q] forward, x's shape backward), none empty; a
// ---- backward kernel writes every element of dx (zeros where no window reaches) ----
using MaxPool2dForwardKernel = void(const Tensor& x, const Window2d& win, MaxPoolForward& out);
extern KernelTable<MaxPool2dForwardKernel> max_pool2d_forward_kernel;
using MaxPool2dBackwardKernel = void(const Tensor& dy, const Tensor& indices, Tensor& dx);
extern KernelTable<MaxPool2dBackwardKernel> max_pool2d_backward_kernel;
using AvgPool2dForwardKernel = void(const Tensor& x, const Window2d& win, Tensor& y);
extern KernelTable<AvgPool2dForwardKernel> avg_pool2d_forward_kernel;
using AvgPool2dBackwardKernel = void(const Tensor& dy, const Window2d& win, Tensor& dx);
extern KernelTable<AvgPool2dBackwardKernel> avg_pool2d_backward_kernel;
using AdaptiveAvgPool2dForwardKernel = void(const Tensor& x, Tensor& y);
extern KernelTable<AdaptiveAvgPool2dForwardKernel> adaptive_avg_pool2d_forward_kernel;
using AdaptiveAvgPool2dBackwardKernel = void(const Tensor& dy, Tensor& dx);
extern KernelTable<AdaptiveAvgPool2dBackwardKernel> adaptive_avg_pool2d_backward_kernel;

}  // namespace minidl::kernels
