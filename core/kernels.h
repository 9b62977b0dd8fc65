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
Tensor cast(const Tensor& x, DType dtype);

}  // namespace minidl::kernels
