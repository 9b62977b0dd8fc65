// The elementwise ops' dispatcher: checks, allocation, empty tensors, then the device's kernel.
#include "elementwise.h"

#include "../factory.h"
#include "checks.h"

namespace minidl::kernels {

namespace {

const char* name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    case BinaryOp::Eq: return "eq";
    case BinaryOp::IsMax: return "max_backward";
    case BinaryOp::ReluGrad: return "relu_backward";
  }
  return "binary";
}

const char* name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Relu: return "relu";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
  }
  return "unary";
}

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  checks::same(a, b, name(op));
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name(op)), a.dtype(), a.device());
  if (out.numel() > 0) binary_kernel.at(a.device())(op, a, b, out);
  return out;
}

Tensor accumulate(Tensor sum, const Tensor& g) {
  // In place, the sum is one pass over memory with one stream less (no fresh buffer to fill).
  // The kernel reads a value of sum before it writes it, and only that value: out may be a.
  if (sum.is_unique() && sum.shape() == g.shape() && sum.dtype() == g.dtype() && sum.device() == g.device()) {
    if (sum.numel() > 0) binary_kernel.at(sum.device())(BinaryOp::Add, sum, g, sum);
    return sum;
  }
  return binary(BinaryOp::Add, sum, g);
}

Tensor unary(UnaryOp op, const Tensor& x) {
  checks::floating(x, name(op));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) unary_kernel.at(x.device())(op, x, out);
  return out;
}

Tensor pow(const Tensor& x, double exponent) {
  checks::floating(x, "pow");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) pow_kernel.at(x.device())(x, exponent, out);
  return out;
}

Tensor scale(const Tensor& x, double s) {
  checks::floating(x, "scale");
  return binary(BinaryOp::Mul, x, scalar_tensor(s, x.dtype(), x.device()));
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  checks::floating(x, "broadcast_to");
  MINIDL_CHECK(broadcast_shapes(x.shape(), shape, "broadcast_to") == shape, "broadcast_to: shape ",
               to_string(x.shape()), " cannot be broadcast to ", to_string(shape));
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() > 0) broadcast_to_kernel.at(x.device())(x, out);
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  checks::defined(x, "to");
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  if (out.numel() > 0) cast_kernel.at(x.device())(x, out);
  return out;
}

Tensor copy(const Tensor& x) {
  checks::defined(x, "clone");
  return cast(x, x.dtype());
}

// Any devices: src is brought to dst's device first (a storage copy), then converted there.
void copy_(Tensor& dst, const Tensor& src) {
  checks::defined(dst, "copy_");
  checks::defined(src, "copy_");
  MINIDL_CHECK(dst.numel() == src.numel(), "copy_: cannot copy ", src.numel(), " elements ", to_string(src.shape()),
               " into ", dst.numel(), " elements ", to_string(dst.shape()));
  if (dst.numel() > 0) cast_kernel.at(dst.device())(src.device_copy(dst.device()), dst);
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  checks::defined(x, "reshape");
  Shape resolved = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MINIDL_CHECK(infer < 0, "reshape: only one size may be -1, found ", to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MINIDL_CHECK(shape[i] >= 0, "reshape: sizes must be >= 0 or -1, found ", to_string(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    MINIDL_CHECK(known != 0 && x.numel() % known == 0, "reshape: cannot reshape ", to_string(x.shape()),
                 " (", x.numel(), " elements) to ", to_string(shape));
    resolved[infer] = x.numel() / known;
  }
  MINIDL_CHECK(numel(resolved) == x.numel(), "reshape: cannot reshape ", to_string(x.shape()), " (",
               x.numel(), " elements) to ", to_string(shape), " (", numel(resolved), " elements)");
  return Tensor(x.storage(), x.storage_offset(), resolved, x.dtype());
}

Tensor narrow(const Tensor& x, int64_t start, int64_t length) {
  checks::defined(x, "narrow");
  MINIDL_CHECK(x.dim() >= 1, "narrow: expected a tensor with a dim 0, found a scalar");
  MINIDL_CHECK(start >= 0 && length >= 0 && start + length <= x.size(0), "narrow: rows [", start, ", ", start + length,
               ") do not lie in dim 0 of size ", x.size(0));
  Shape shape = x.shape();
  shape[0] = length;
  const int64_t row = x.size(0) > 0 ? x.numel() / x.size(0) : 0;
  return Tensor(x.storage(), x.storage_offset() + start * row, shape, x.dtype());
}

}  // namespace minidl::kernels
