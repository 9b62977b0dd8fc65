// The elementwise ops as functors that CPU and CUDA kernels share (core/cpu/elementwise.cpp,
// core/cuda/elementwise.cu), so that an op means the same on every device.
#pragma once

#include <cmath>

#include "host_device.h"
#include "kernels/types.h"

namespace minidl::ops {

template <typename T> struct Add { MINIDL_HOST_DEVICE T operator()(T a, T b) const { return a + b; } };
template <typename T> struct Sub { MINIDL_HOST_DEVICE T operator()(T a, T b) const { return a - b; } };
template <typename T> struct Mul { MINIDL_HOST_DEVICE T operator()(T a, T b) const { return a * b; } };
template <typename T> struct Div { MINIDL_HOST_DEVICE T operator()(T a, T b) const { return a / b; } };
template <typename T> struct Eq { MINIDL_HOST_DEVICE T operator()(T a, T b) const { return T(a == b); } };
/// max's backward mask: 1 where x equals its slice's max m, NaN counting as equal to NaN, so that
/// a NaN max sends its gradient to the NaN elements (PyTorch's evenly_distribute_backward).
template <typename T> struct IsMax {
  MINIDL_HOST_DEVICE T operator()(T x, T m) const { return T(x == m || (x != x && m != m)); }
};
/// relu's backward: the gradient where the relu's output y is positive, 0 elsewhere.
/// NaN propagates through relu and its backward, as in PyTorch: relu(NaN) = NaN, and the gradient
/// passes where y is NaN (PyTorch's threshold_backward: 0 only where y <= 0).
template <typename T> struct ReluGrad { MINIDL_HOST_DEVICE T operator()(T g, T y) const { return y <= T(0) ? T(0) : g; } };
/// broadcast_to as a binary op on (x, x).
template <typename T> struct First { MINIDL_HOST_DEVICE T operator()(T a, T) const { return a; } };

template <typename T> struct Neg { MINIDL_HOST_DEVICE T operator()(T a) const { return -a; } };
template <typename T> struct Relu { MINIDL_HOST_DEVICE T operator()(T a) const { return a <= T(0) ? T(0) : a; } };
template <typename T> struct Exp { MINIDL_HOST_DEVICE T operator()(T a) const { return std::exp(a); } };
template <typename T> struct Log { MINIDL_HOST_DEVICE T operator()(T a) const { return std::log(a); } };
template <typename T> struct Sqrt { MINIDL_HOST_DEVICE T operator()(T a) const { return std::sqrt(a); } };
template <typename T> struct Square { MINIDL_HOST_DEVICE T operator()(T a) const { return a * a; } };
template <typename T> struct Pow {
  T exponent;
  MINIDL_HOST_DEVICE T operator()(T a) const { return std::pow(a, exponent); }
};
template <typename From, typename To> struct Cast {
  MINIDL_HOST_DEVICE To operator()(From a) const { return static_cast<To>(a); }
};

/// Calls f(functor) with the functor of `op`: one switch per call, and a loop the compiler can
/// inline the op into.
template <typename T, typename F>
void with_binary(kernels::BinaryOp op, F&& f) {
  using kernels::BinaryOp;
  switch (op) {
    case BinaryOp::Add: return f(Add<T>{});
    case BinaryOp::Sub: return f(Sub<T>{});
    case BinaryOp::Mul: return f(Mul<T>{});
    case BinaryOp::Div: return f(Div<T>{});
    case BinaryOp::Eq: return f(Eq<T>{});
    case BinaryOp::IsMax: return f(IsMax<T>{});
    case BinaryOp::ReluGrad: return f(ReluGrad<T>{});
  }
}

template <typename T, typename F>
void with_unary(kernels::UnaryOp op, F&& f) {
  using kernels::UnaryOp;
  switch (op) {
    case UnaryOp::Neg: return f(Neg<T>{});
    case UnaryOp::Relu: return f(Relu<T>{});
    case UnaryOp::Exp: return f(Exp<T>{});
    case UnaryOp::Log: return f(Log<T>{});
    case UnaryOp::Sqrt: return f(Sqrt<T>{});
  }
}

/// x^e, with e = 2 as a plain product (exact, and what x·x gives).
template <typename T, typename F>
void with_pow(double exponent, F&& f) {
  if (exponent == 2.0) return f(Square<T>{});
  f(Pow<T>{static_cast<T>(exponent)});
}

/// The larger of a and b, NaN if either is (PyTorch's max; std::max and fmax drop a NaN).
template <typename T>
MINIDL_HOST_DEVICE inline T max_with_nan(T a, T b) {
  return (b > a || b != b) ? b : a;
}

}  // namespace minidl::ops
