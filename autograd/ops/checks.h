// Argument checks shared by the neural-network ops: each throws minidl::Error naming the op.
#pragma once

#include "../../core/error.h"
#include "../../core/tensor.h"

namespace minidl::checks {

/// x is defined and float32 or float64.
inline void floating(const Tensor& x, const char* op) {
  MINIDL_CHECK(x.defined(), op, ": expected an input tensor, found an undefined one");
  MINIDL_CHECK(is_floating(x.dtype()), op, ": expected a float32 or float64 input, found ", x.dtype());
}

/// x is defined, floating point, and of rank `rank` (`layout` names the dims: "[N, C, H, W]").
inline void input(const Tensor& x, const char* op, int64_t rank, const char* layout) {
  floating(x, op);
  MINIDL_CHECK(x.dim() == rank, op, ": expected a ", rank, "-D input ", layout, ", found shape ", to_string(x.shape()));
}

/// `t` (if defined) matches x's dtype and device and has `shape`.
inline void param(const Tensor& t, const Tensor& x, const char* op, const char* name, const Shape& shape) {
  if (!t.defined()) return;
  MINIDL_CHECK(t.dtype() == x.dtype(), op, ": ", name, " has dtype ", t.dtype(), ", the input ", x.dtype());
  MINIDL_CHECK(t.device() == x.device(), op, ": ", name, " is on ", t.device(), ", the input on ", x.device());
  MINIDL_CHECK(t.shape() == shape, op, ": expected ", name, " of shape ", to_string(shape), ", found ",
               to_string(t.shape()));
}

/// A pooling or convolution window fits: positive sizes, padding at most half the kernel,
/// and at least one output position.
inline void window(const char* op, int64_t kernel, int64_t stride, int64_t padding, int64_t in_h, int64_t in_w,
                   bool pad_at_most_half) {
  MINIDL_CHECK(kernel > 0 && stride > 0 && padding >= 0, op, ": expected kernel > 0, stride > 0, padding >= 0, found ",
               kernel, ", ", stride, ", ", padding);
  MINIDL_CHECK(!pad_at_most_half || 2 * padding <= kernel, op, ": padding ", padding,
               " must be at most half the kernel size ", kernel);
  MINIDL_CHECK(in_h + 2 * padding >= kernel && in_w + 2 * padding >= kernel, op, ": a ", kernel, "x", kernel,
               " window with padding ", padding, " does not fit a ", in_h, "x", in_w, " input");
}

}  // namespace minidl::checks
