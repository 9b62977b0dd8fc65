// Elementwise ops and their gradients. With broadcasting, an input's gradient is the
// output gradient summed back down to that input's shape (kernels::sum_to).
#include "../../core/factory.h"
#include "../../core/kernels.h"
#include "../ops.h"

namespace minidl {

using kernels::BinaryOp;
using kernels::UnaryOp;

namespace {
Tensor bin(BinaryOp op, const Tensor& a, const Tensor& b) { return kernels::binary(op, a, b); }
Tensor grad_for(const Needs& needs, size_t i, const Tensor& g, const Shape& shape) {
  return needs[i] ? kernels::sum_to(g, shape) : Tensor();
}
Tensor scalar_like(double v, const Tensor& like) { return scalar_tensor(v, like.dtype(), like.device()); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return record("AddBackward", bin(BinaryOp::Add, a, b), {a, b},
                [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& needs) -> Grads {
                  return {grad_for(needs, 0, g, sa), grad_for(needs, 1, g, sb)};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("SubBackward", bin(BinaryOp::Sub, a, b), {a, b},
                [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& needs) -> Grads {
                  const Tensor gb = grad_for(needs, 1, g, sb);
                  return {grad_for(needs, 0, g, sa), gb.defined() ? kernels::unary(UnaryOp::Neg, gb) : gb};
                });
}

// d(a·b)/da = b, d(a·b)/db = a
Tensor mul(const Tensor& a, const Tensor& b) {
  return record("MulBackward", bin(BinaryOp::Mul, a, b), {a, b},
                [a = a.detach(), b = b.detach()](const Tensor& g, const Needs& needs) -> Grads {
                  return {needs[0] ? kernels::sum_to(bin(BinaryOp::Mul, g, b), a.shape()) : Tensor(),
                          needs[1] ? kernels::sum_to(bin(BinaryOp::Mul, g, a), b.shape()) : Tensor()};
                });
}

// d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -(a/b)/b
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = bin(BinaryOp::Div, a, b);
  return record("DivBackward", out, {a, b},
                [sa = a.shape(), b = b.detach(), y = out.detach()](const Tensor& g, const Needs& needs) -> Grads {
                  const Tensor g_over_b = bin(BinaryOp::Div, g, b);
                  Tensor gb;
                  if (needs[1]) gb = kernels::unary(UnaryOp::Neg, kernels::sum_to(bin(BinaryOp::Mul, g_over_b, y), b.shape()));
                  return {needs[0] ? kernels::sum_to(g_over_b, sa) : Tensor(), gb};
                });
}

Tensor neg(const Tensor& x) {
  return record("NegBackward", kernels::unary(UnaryOp::Neg, x), {x},
                [](const Tensor& g, const Needs&) -> Grads { return {kernels::unary(UnaryOp::Neg, g)}; });
}

Tensor relu(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Relu, x);
  // y > 0 exactly where x > 0, so the output serves as the mask and x need not be kept.
  return record("ReluBackward", out, {x}, [y = out.detach()](const Tensor& g, const Needs&) -> Grads {
    return {bin(BinaryOp::ReluGrad, g, y)};
  });
}

// d(eˣ)/dx = eˣ
Tensor exp(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Exp, x);
  return record("ExpBackward", out, {x},
                [y = out.detach()](const Tensor& g, const Needs&) -> Grads { return {bin(BinaryOp::Mul, g, y)}; });
}

// d(ln x)/dx = 1/x
Tensor log(const Tensor& x) {
  return record("LogBackward", kernels::unary(UnaryOp::Log, x), {x},
                [x = x.detach()](const Tensor& g, const Needs&) -> Grads { return {bin(BinaryOp::Div, g, x)}; });
}

// d(√x)/dx = 1 / (2√x)
Tensor sqrt(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Sqrt, x);
  return record("SqrtBackward", out, {x}, [y = out.detach()](const Tensor& g, const Needs&) -> Grads {
    return {bin(BinaryOp::Div, g, kernels::scale(y, 2.0))};
  });
}

// d(xᵖ)/dx = p·xᵖ⁻¹
Tensor pow(const Tensor& x, double exponent) {
  return record("PowBackward", kernels::pow(x, exponent), {x},
                [x = x.detach(), exponent](const Tensor& g, const Needs&) -> Grads {
                  if (exponent == 0.0) return {kernels::scale(g, 0.0)};
                  const Tensor dydx = kernels::scale(kernels::pow(x, exponent - 1.0), exponent);
                  return {bin(BinaryOp::Mul, g, dydx)};
                });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace minidl
