// Elementwise CPU kernels: binary ops with NumPy broadcasting (planned by core/broadcast.h, so
// [N, C, H, W] + [1, C, 1, 1] runs as N·C inner loops of H·W with the second operand constant in
// each), unary maps, casts.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../broadcast.h"
#include "../elementwise_ops.h"
#include "../kernels/elementwise.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

// out[i] = f(a[·], b[·]) over a broadcast plan; the innermost merged dim is the hot loop. Threads
// take blocks of at most kBlock values of a row, not whole rows: operands of one shape merge into
// a single row (outer = 1), which split by rows ran on one thread however large.
template <typename T, typename F>
void broadcast_loop(const T* a, const T* b, T* out, const BroadcastPlan& p, F f) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t rank = static_cast<int64_t>(p.sizes.size());
  const int64_t inner = p.sizes.back(), outer = numel(p.sizes) / inner, blocks = (inner + kBlock - 1) / kBlock;
  const int64_t sa = p.a_strides.back(), sb = p.b_strides.back();
#pragma omp parallel for if (outer * inner > stream_grain() && outer * blocks > 1)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, first = task % blocks * kBlock, n = std::min(kBlock, inner - first);
    int64_t ia = first * sa, ib = first * sb, rest = o;
    for (int64_t d = rank - 2; d >= 0; --d) {
      const int64_t idx = rest % p.sizes[d];
      rest /= p.sizes[d];
      ia += idx * p.a_strides[d];
      ib += idx * p.b_strides[d];
    }
    const T* pa = a + ia;
    const T* pb = b + ib;
    T* po = out + o * inner + first;
    // Separate loops for the common stride patterns let the compiler vectorize each.
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const T vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const T va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i * sa], pb[i * sb]);
    }
  }
}

template <typename In, typename Out, typename F>
void map(const In* x, Out* out, int64_t n, F f) {
#pragma omp parallel for if (n > stream_grain())
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const BroadcastPlan plan = plan_broadcast(a.shape(), b.shape(), out.shape());
  dispatch_floating(out.dtype(), "binary", [&](auto v) {
    using T = decltype(v);
    ops::with_binary<T>(op, [&](auto f) { broadcast_loop(a.data<T>(), b.data<T>(), out.data<T>(), plan, f); });
  });
}
MINIDL_REGISTER_KERNEL(binary_kernel, CPU, binary);

void broadcast_to(const Tensor& x, Tensor& out) {
  const BroadcastPlan plan = plan_broadcast(x.shape(), x.shape(), out.shape());
  dispatch_floating(out.dtype(), "broadcast_to", [&](auto v) {
    using T = decltype(v);
    broadcast_loop(x.data<T>(), x.data<T>(), out.data<T>(), plan, ops::First<T>{});
  });
}
MINIDL_REGISTER_KERNEL(broadcast_to_kernel, CPU, broadcast_to);

void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out) {
  dispatch_floating(x.dtype(), "unary", [&](auto v) {
    using T = decltype(v);
    ops::with_unary<T>(op, [&](auto f) { map(x.data<T>(), out.data<T>(), x.numel(), f); });
  });
}
MINIDL_REGISTER_KERNEL(unary_kernel, CPU, unary);

void pow(const Tensor& x, double exponent, Tensor& out) {
  dispatch_floating(x.dtype(), "pow", [&](auto v) {
    using T = decltype(v);
    ops::with_pow<T>(exponent, [&](auto f) { map(x.data<T>(), out.data<T>(), x.numel(), f); });
  });
}
MINIDL_REGISTER_KERNEL(pow_kernel, CPU, pow);

void cast(const Tensor& x, Tensor& out) {
  if (x.dtype() == out.dtype()) {
    std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
    return;
  }
  dispatch_all(x.dtype(), [&](auto vx) {
    using S = decltype(vx);
    dispatch_all(out.dtype(), [&](auto vo) {
      using D = decltype(vo);
      map(x.data<S>(), out.data<D>(), x.numel(), ops::Cast<S, D>{});
    });
  });
}
MINIDL_REGISTER_KERNEL(cast_kernel, CPU, cast);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
