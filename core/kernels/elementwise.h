// Elementwise ops: broadcasting binary ops, unary maps, pow, casts, copies, views.
// The ops (top) check their arguments and allocate; the kernels (bottom) fill what they are given.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// out = a (op) b, shapes broadcast: [N, C, H, W] (op) [1, C, 1, 1] -> [N, C, H, W]
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
/// sum += g where sum is a buffer nobody else holds (Tensor::is_unique) of g's shape, dtype and
/// device, else a new sum + g: how backward sums a tensor's gradients (autograd/engine.cpp).
Tensor accumulate(Tensor sum, const Tensor& g);
Tensor unary(UnaryOp op, const Tensor& x);
/// out = x ^ exponent
Tensor pow(const Tensor& x, double exponent);
/// out = x * scale, a shortcut for binary(Mul, x, scalar)
Tensor scale(const Tensor& x, double scale);
/// Repeats x along its size-1 (and missing leading) dims to `shape`.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// A copy converted to dtype.
Tensor cast(const Tensor& x, DType dtype);
/// A contiguous copy with its own storage.
Tensor copy(const Tensor& x);
/// Copies src's values into dst's storage (same number of elements; any devices; converts the dtype).
void copy_(Tensor& dst, const Tensor& src);
/// A view of x's storage with a new shape; one size may be -1.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Rows [start, start + length) of dim 0: a view of x's storage (rows of a contiguous tensor are contiguous).
Tensor narrow(const Tensor& x, int64_t start, int64_t length);

// ---- kernels: inputs on one device and of one floating dtype (cast: any dtypes); `out`
// ---- allocated with the result's shape, never empty ----
inline KernelTable<void(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out)> binary_kernel{"binary"};
inline KernelTable<void(UnaryOp op, const Tensor& x, Tensor& out)> unary_kernel{"unary"};
inline KernelTable<void(const Tensor& x, double exponent, Tensor& out)> pow_kernel{"pow"};
inline KernelTable<void(const Tensor& x, Tensor& out)> broadcast_to_kernel{"broadcast_to"};
inline KernelTable<void(const Tensor& x, Tensor& out)> cast_kernel{"to"};


}  // namespace minidl::kernels
