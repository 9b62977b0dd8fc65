// Pooling on the CPU: max, average and adaptive average over 2-D windows.
// Dims: N batch, C channels, H W input size, P Q output size; each (n, c) plane is one task.
#include <cmath>
#include <limits>

#include "../pool_math.h"
#include "../kernels/pool.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

using kernels::Window2d;

struct Planes {
  int64_t planes, H, W, P, Q;
};

Planes planes_of(const Shape& x, int64_t P, int64_t Q) { return {x[0] * x[1], x[2], x[3], P, Q}; }

// Calls f(plane, p, q, h0, h1, w0, w1) for every output element, with [h0, h1) × [w0, w1) its
// window clipped to the image (core/pool_math.h); planes run in parallel.
template <typename F>
void for_each_window(const Planes& g, const Window2d& win, F f) {
#pragma omp parallel for if (g.planes * g.P * g.Q * win.kernel_h * win.kernel_w > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane)
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q) {
        const pool_math::Window b = pool_math::window_at(p, q, g.H, g.W, win.kernel_h, win.kernel_w, win.stride_h,
                                                         win.stride_w, win.pad_h, win.pad_w);
        f(plane, p, q, b.h0, b.h1, b.w0, b.w1);
      }
}

int64_t padded_area(const Planes& g, const Window2d& win, int64_t p, int64_t q) {
  return pool_math::padded_area(p, q, g.H, g.W, win.kernel_h, win.kernel_w, win.stride_h, win.stride_w, win.pad_h,
                                win.pad_w);
}

// Calls f(plane, p, q, h0, h1, w0, w1) for every output element of adaptive pooling, with
// [h0, h1) × [w0, w1) its bin (PyTorch's edges, core/pool_math.h); planes run in parallel.
template <typename F>
void for_each_bin(const Planes& g, F f) {
#pragma omp parallel for if (g.planes * g.H * g.W > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane)
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q)
        f(plane, p, q, pool_math::bin_start(p, g.H, g.P), pool_math::bin_end(p, g.H, g.P),
          pool_math::bin_start(q, g.W, g.Q), pool_math::bin_end(q, g.W, g.Q));
}

void max_pool2d_forward(const Tensor& x, const Window2d& win, kernels::MaxPoolForward& out) {
  const Planes g = planes_of(x.shape(), out.y.size(2), out.y.size(3));
  int64_t* idx = out.indices.data<int64_t>();
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* py = out.y.data<T>();
    for_each_window(g, win, [&](int64_t plane, int64_t p, int64_t q, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const T* xp = px + plane * g.H * g.W;
      T best = -std::numeric_limits<T>::infinity();
      int64_t best_at = h0 * g.W + w0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w)
          if (xp[h * g.W + w] > best || std::isnan(xp[h * g.W + w])) {  // NaN propagates, as in PyTorch
            best = xp[h * g.W + w];
            best_at = h * g.W + w;
          }
      const int64_t o = (plane * g.P + p) * g.Q + q;
      py[o] = best;
      idx[o] = best_at;
    });
  });
}
MINIDL_REGISTER_KERNEL(max_pool2d_forward_kernel, CPU, max_pool2d_forward);

void max_pool2d_backward(const Tensor& dy, const Tensor& indices, Tensor& dx) {
  const Shape& x_shape = dx.shape();
  const int64_t planes = x_shape[0] * x_shape[1], hw = x_shape[2] * x_shape[3], pq = dy.size(2) * dy.size(3);
  const int64_t* idx = indices.data<int64_t>();
  dispatch_floating(dy.dtype(), "max_pool2d_backward", [&](auto v) {
    using T = decltype(v);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for if (planes * hw > kParallelGrain)
    for (int64_t plane = 0; plane < planes; ++plane) {
      T* d = pdx + plane * hw;
      std::fill(d, d + hw, T(0));
      for (int64_t o = 0; o < pq; ++o) d[idx[plane * pq + o]] += pdy[plane * pq + o];
    }
  });
}
MINIDL_REGISTER_KERNEL(max_pool2d_backward_kernel, CPU, max_pool2d_backward);

// Average pooling over the windows `each` visits (each(f) calls f(plane, p, q, h0, h1, w0, w1)),
// divided by area(p, q, h0, h1, w0, w1): forward sums each window, backward spreads each output's
// gradient evenly over its window. avg_pool2d and adaptive_avg_pool2d differ only in their
// windows and divisors.
template <typename Each, typename Area>
void average_forward(const Tensor& x, const Planes& g, Each each, Area area, Tensor& y, const char* op) {
  dispatch_floating(x.dtype(), op, [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    each([&](int64_t plane, int64_t p, int64_t q, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const T* xp = px + plane * g.H * g.W;
      double total = 0;
      for (int64_t h = h0; h < h1; ++h)
#pragma omp simd reduction(+ : total)
        for (int64_t w = w0; w < w1; ++w) total += xp[h * g.W + w];
      py[(plane * g.P + p) * g.Q + q] = static_cast<T>(total / static_cast<double>(area(p, q, h0, h1, w0, w1)));
    });
  });
}

template <typename Each, typename Area>
void average_backward(const Tensor& dy, const Planes& g, Each each, Area area, Tensor& dx, const char* op) {
  dispatch_floating(dy.dtype(), op, [&](auto v) {
    using T = decltype(v);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    std::fill(pdx, pdx + dx.numel(), T(0));
    // Planes are independent, so each thread adds into its own planes only.
    each([&](int64_t plane, int64_t p, int64_t q, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const T share = pdy[(plane * g.P + p) * g.Q + q] / static_cast<T>(area(p, q, h0, h1, w0, w1));
      T* d = pdx + plane * g.H * g.W;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) d[h * g.W + w] += share;
    });
  });
}

// avg_pool2d: fixed windows; zero padding counts in the divisor (PyTorch's count_include_pad=True).
struct FixedWindows {
  const Planes& g;
  const Window2d& win;
  template <typename F>
  void operator()(F f) const { for_each_window(g, win, f); }
  int64_t operator()(int64_t p, int64_t q, int64_t, int64_t, int64_t, int64_t) const {
    return padded_area(g, win, p, q);
  }
};

// adaptive_avg_pool2d: PyTorch's bins, divided by their size.
struct AdaptiveBins {
  const Planes& g;
  template <typename F>
  void operator()(F f) const { for_each_bin(g, f); }
  int64_t operator()(int64_t, int64_t, int64_t h0, int64_t h1, int64_t w0, int64_t w1) const {
    return (h1 - h0) * (w1 - w0);
  }
};

void avg_pool2d_forward(const Tensor& x, const Window2d& win, Tensor& y) {
  const Planes g = planes_of(x.shape(), y.size(2), y.size(3));
  average_forward(x, g, FixedWindows{g, win}, FixedWindows{g, win}, y, "avg_pool2d");
}
MINIDL_REGISTER_KERNEL(avg_pool2d_forward_kernel, CPU, avg_pool2d_forward);

void avg_pool2d_backward(const Tensor& dy, const Window2d& win, Tensor& dx) {
  const Planes g = planes_of(dx.shape(), dy.size(2), dy.size(3));
  average_backward(dy, g, FixedWindows{g, win}, FixedWindows{g, win}, dx, "avg_pool2d_backward");
}
MINIDL_REGISTER_KERNEL(avg_pool2d_backward_kernel, CPU, avg_pool2d_backward);

void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  const Planes g = planes_of(x.shape(), y.size(2), y.size(3));
  average_forward(x, g, AdaptiveBins{g}, AdaptiveBins{g}, y, "adaptive_avg_pool2d");
}
MINIDL_REGISTER_KERNEL(adaptive_avg_pool2d_forward_kernel, CPU, adaptive_avg_pool2d_forward);

void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  const Planes g = planes_of(dx.shape(), dy.size(2), dy.size(3));
  average_backward(dy, g, AdaptiveBins{g}, AdaptiveBins{g}, dx, "adaptive_avg_pool2d_backward");
}
MINIDL_REGISTER_KERNEL(adaptive_avg_pool2d_backward_kernel, CPU, adaptive_avg_pool2d_backward);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
