// Elementwise CPU kernels: binary ops with NumPy broadcasting, unary maps, casts.
// A broadcast is planned once: operands are viewed with stride 0 on broadcast dims, and
// neighbouring dims that stay contiguous in every operand are merged, so [N, C, H, W] + [1, C, 1, 1]
// runs as N·C inner loops of H·W with the second operand constant in each.
#include <cmath>
#include <cstring>

#include "cpu.h"

namespace minidl::cpu {
namespace {

struct BroadcastPlan {
  Shape sizes;      // merged output sizes (at least one dim)
  Shape a_strides;  // element strides into a, 0 where a is broadcast
  Shape b_strides;
};

Shape broadcast_strides(const Shape& in, const Shape& out) {
  const size_t lead = out.size() - in.size();
  Shape strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = out.size(); i-- > lead;) {
    const int64_t size = in[i - lead];
    strides[i] = (size == 1 && out[i] != 1) ? 0 : stride;
    stride *= size;
  }
  return strides;
}

BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const Shape& out) {
  const Shape sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  BroadcastPlan p;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;  // size-1 dims never move any index
    const bool merge = !p.sizes.empty() && p.a_strides.back() == sa[i] * out[i] &&
                       p.b_strides.back() == sb[i] * out[i];
    if (merge) {
      p.sizes.back() *= out[i];
      p.a_strides.back() = sa[i];
      p.b_strides.back() = sb[i];
    } else {
      p.sizes.push_back(out[i]);
      p.a_strides.push_back(sa[i]);
      p.b_strides.push_back(sb[i]);
    }
  }
  if (p.sizes.empty()) p = {{1}, {1}, {1}};
  return p;
}

// out[i] = f(a[·], b[·]) over a broadcast plan; the innermost merged dim is the hot loop.
template <typename T, typename F>
void broadcast_loop(const T* a, const T* b, T* out, const BroadcastPlan& p, F f) {
  const int64_t rank = static_cast<int64_t>(p.sizes.size());
  const int64_t inner = p.sizes.back(), outer = numel(p.sizes) / inner;
  const int64_t sa = p.a_strides.back(), sb = p.b_strides.back();
#pragma omp parallel for if (outer * inner > kParallelGrain && outer > 1)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t ia = 0, ib = 0, rest = o;
    for (int64_t d = rank - 2; d >= 0; --d) {
      const int64_t idx = rest % p.sizes[d];
      rest /= p.sizes[d];
      ia += idx * p.a_strides[d];
      ib += idx * p.b_strides[d];
    }
    const T* pa = a + ia;
    const T* pb = b + ib;
    T* po = out + o * inner;
    // Separate loops for the common stride patterns let the compiler vectorize each.
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const T vb = *pb;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const T va = *pa;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i * sa], pb[i * sb]);
    }
  }
}

template <typename In, typename Out, typename F>
void map(const In* x, Out* out, int64_t n, F f) {
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

}  // namespace

void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  using kernels::BinaryOp;
  const BroadcastPlan plan = plan_broadcast(a.shape(), b.shape(), out.shape());
  if (out.numel() == 0) return;
  dispatch_floating(out.dtype(), "binary", [&](auto v) {
    using T = decltype(v);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    switch (op) {
      case BinaryOp::Add: broadcast_loop(pa, pb, po, plan, [](T x, T y) { return x + y; }); break;
      case BinaryOp::Sub: broadcast_loop(pa, pb, po, plan, [](T x, T y) { return x - y; }); break;
      case BinaryOp::Mul: broadcast_loop(pa, pb, po, plan, [](T x, T y) { return x * y; }); break;
      case BinaryOp::Div: broadcast_loop(pa, pb, po, plan, [](T x, T y) { return x / y; }); break;
      case BinaryOp::Eq: broadcast_loop(pa, pb, po, plan, [](T x, T y) { return T(x == y); }); break;
      case BinaryOp::ReluGrad:
        broadcast_loop(pa, pb, po, plan, [](T g, T x) { return x > T(0) ? g : T(0); });
        break;
    }
  });
}

void broadcast_to(const Tensor& x, Tensor& out) {
  const BroadcastPlan plan = plan_broadcast(x.shape(), x.shape(), out.shape());
  if (out.numel() == 0) return;
  dispatch_floating(out.dtype(), "broadcast_to", [&](auto v) {
    using T = decltype(v);
    broadcast_loop(x.data<T>(), x.data<T>(), out.data<T>(), plan, [](T a, T) { return a; });
  });
}

void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out) {
  using kernels::UnaryOp;
  dispatch_floating(x.dtype(), "unary", [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const int64_t n = x.numel();
    switch (op) {
      case UnaryOp::Neg: map(px, po, n, [](T a) { return -a; }); break;
      case UnaryOp::Relu: map(px, po, n, [](T a) { return a > T(0) ? a : T(0); }); break;
      case UnaryOp::Exp: map(px, po, n, [](T a) { return std::exp(a); }); break;
      case UnaryOp::Log: map(px, po, n, [](T a) { return std::log(a); }); break;
      case UnaryOp::Sqrt: map(px, po, n, [](T a) { return std::sqrt(a); }); break;
    }
  });
}

void pow(const Tensor& x, double exponent, Tensor& out) {
  dispatch_floating(x.dtype(), "pow", [&](auto v) {
    using T = decltype(v);
    const T e = static_cast<T>(exponent);
    if (exponent == 2.0) map(x.data<T>(), out.data<T>(), x.numel(), [](T a) { return a * a; });
    else map(x.data<T>(), out.data<T>(), x.numel(), [e](T a) { return std::pow(a, e); });
  });
}

void cast(const Tensor& x, Tensor& out) {
  if (x.dtype() == out.dtype()) {
    std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
    return;
  }
  dispatch_all(x.dtype(), [&](auto vx) {
    using S = decltype(vx);
    dispatch_all(out.dtype(), [&](auto vo) {
      using D = decltype(vo);
      map(x.data<S>(), out.data<D>(), x.numel(), [](S a) { return static_cast<D>(a); });
    });
  });
}

}  // namespace minidl::cpu
