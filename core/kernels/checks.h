// What the dispatchers (core/kernels/*.cpp) share: argument checks, each naming the op, and the
// allocation of outputs.
#pragma once

#include <initializer_list>

#include "../factory.h"
#include "types.h"

namespace minidl::kernels::checks {

inline void defined(const Tensor& x, const char* op) {
  MINIDL_CHECK(x.defined(), op, ": expected a defined tensor, found an undefined one");
}

/// A defined float32 or float64 tensor.
inline void floating(const Tensor& x, const char* op) {
  defined(x, op);
  MINIDL_CHECK(is_floating(x.dtype()), op, ": expected dtype float32 or float64, found ", x.dtype());
}

/// Two floating tensors on one device, of one dtype (the operands of a binary op or a product).
inline void same(const Tensor& a, const Tensor& b, const char* op) {
  floating(a, op);
  floating(b, op);
  MINIDL_CHECK(a.device() == b.device(), op, ": expected both tensors on one device, found ", a.device(), " and ",
               b.device());
  MINIDL_CHECK(a.dtype() == b.dtype(), op, ": expected both tensors of one dtype, found ", a.dtype(), " and ",
               b.dtype());
}

/// Every defined tensor in `others` is on `x`'s device and, when `same_dtype`, of x's dtype.
inline void like(const Tensor& x, std::initializer_list<const Tensor*> others, const char* op,
                 bool same_dtype = true) {
  for (const Tensor* t : others) {
    if (!t->defined()) continue;
    MINIDL_CHECK(t->device() == x.device(), op, ": expected all tensors on ", x.device(), ", found one on ",
                 t->device());
    MINIDL_CHECK(!same_dtype || t->dtype() == x.dtype(), op, ": expected all tensors of dtype ", x.dtype(),
                 ", found one of ", t->dtype());
  }
}

/// A floating x and `others` on its device with its dtype.
inline void floating_like(const Tensor& x, std::initializer_list<const Tensor*> others, const char* op) {
  floating(x, op);
  like(x, others, op);
}

/// An output of `shape` like `like` (dtype, device) for a kernel to fill — or zeros, for the sums
/// over no values that an empty input gives (a gradient, a statistic), which no kernel sees.
inline Tensor output(const Shape& shape, const Tensor& like, bool zeros_instead = false) {
  return zeros_instead ? zeros(shape, like.dtype(), like.device()) : Tensor::empty(shape, like.dtype(), like.device());
}

}  // namespace minidl::kernels::checks
