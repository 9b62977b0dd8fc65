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
inline KernelTable<void(const Tensor& x, const Window2d& win, MaxPoolForward& out)>
    max_pool2d_forward_kernel{"max_pool2d"};
inline KernelTable<void(const Tensor& dy, const Tensor& indices, Tensor& dx)>
    max_pool2d_backward_kernel{"max_pool2d_backward"};
inline KernelTable<void(const Tensor& x, const Window2d& win, Tensor& y)> avg_pool2d_forward_kernel{"avg_pool2d"};
inline KernelTable<void(const Tensor& dy, const Window2d& win, Tensor& dx)>
    avg_pool2d_backward_kernel{"avg_pool2d_backward"};
inline KernelTable<void(const Tensor& x, Tensor& y)> adaptive_avg_pool2d_forward_kernel{"adaptive_avg_pool2d"};
inline KernelTable<void(const Tensor& dy, Tensor& dx)>
    adaptive_avg_pool2d_backward_kernel{"adaptive_avg_pool2d_backward"};

}  // namespace minidl::kernels
