// Pooling on CUDA: max, average and adaptive average over 2-D windows, with the window geometry
// of core/pool_math.h (shared with cpu/pool.cpp). Forward: one thread per output element.
// Backward: dx is zeroed, then every output adds its share into its window with atomicAdd
// (windows overlap when the stride is smaller than the kernel).
#include <algorithm>
#include <cmath>

#include "../pool_math.h"
#include "../kernels/pool.h"
#include "launch.cuh"

namespace minidl::cuda {
namespace {

using kernels::Window2d;


// The output element i of planes × P × Q: its plane and position, and its window.
struct At {
  int64_t plane, p, q;
  pool_math::Window w;
};

__device__ At locate(int64_t i, int64_t H, int64_t W, int64_t P, int64_t Q, Window2d win) {
  const int64_t q = i % Q, p = (i / Q) % P, plane = i / (P * Q);
  return {plane, p, q,
          pool_math::window_at(p, q, H, W, win.kernel_h, win.kernel_w, win.stride_h, win.stride_w, win.pad_h, win.pad_w)};
}

template <typename T>
__global__ void max_forward(const T* x, int64_t total, int64_t H, int64_t W, int64_t P, int64_t Q, Window2d win, T* y,
                            int64_t* indices) {
  MINIDL_FOR_EACH(i, total) {
    const At a = locate(i, H, W, P, Q, win);
    const T* xp = x + a.plane * H * W;
    T best = -INFINITY;
    int64_t best_at = a.w.h0 * W + a.w.w0;
    for (int64_t h = a.w.h0; h < a.w.h1; ++h)
      for (int64_t w = a.w.w0; w < a.w.w1; ++w) {
        const T v = xp[h * W + w];
        if (v > best || v != v) {  // NaN propagates, as in PyTorch and on the CPU
          best = v;
          best_at = h * W + w;
        }
      }
    y[i] = best;
    indices[i] = best_at;
  }
}

template <typename T>
__global__ void max_backward(const T* dy, const int64_t* indices, int64_t total, int64_t hw, int64_t pq, T* dx) {
  MINIDL_FOR_EACH(i, total) atomicAdd(dx + (i / pq) * hw + indices[i], dy[i]);
}

template <typename T>
__global__ void avg_forward(const T* x, int64_t total, int64_t H, int64_t W, int64_t P, int64_t Q, Window2d win, T* y) {
  MINIDL_FOR_EACH(i, total) {
    const At a = locate(i, H, W, P, Q, win);
    const T* xp = x + a.plane * H * W;
    double sum = 0;
    for (int64_t h = a.w.h0; h < a.w.h1; ++h)
      for (int64_t w = a.w.w0; w < a.w.w1; ++w) sum += xp[h * W + w];
    y[i] = static_cast<T>(sum / pool_math::padded_area(a.p, a.q, H, W, win.kernel_h, win.kernel_w, win.stride_h,
                                                       win.stride_w, win.pad_h, win.pad_w));
  }
}

template <typename T>
__global__ void avg_backward(const T* dy, int64_t total, int64_t H, int64_t W, int64_t P, int64_t Q, Window2d win, T* dx) {
  MINIDL_FOR_EACH(i, total) {
    const At a = locate(i, H, W, P, Q, win);
    const T share = dy[i] / static_cast<T>(pool_math::padded_area(a.p, a.q, H, W, win.kernel_h, win.kernel_w,
                                                                  win.stride_h, win.stride_w, win.pad_h, win.pad_w));
    T* d = dx + a.plane * H * W;
    for (int64_t h = a.w.h0; h < a.w.h1; ++h)
      for (int64_t w = a.w.w0; w < a.w.w1; ++w) atomicAdd(d + h * W + w, share);
  }
}

template <typename T>
__global__ void adaptive_forward(const T* x, int64_t total, int64_t H, int64_t W, int64_t P, int64_t Q, T* y) {
  MINIDL_FOR_EACH(i, total) {
    const int64_t q = i % Q, p = (i / Q) % P, plane = i / (P * Q);
    const int64_t h0 = pool_math::bin_start(p, H, P), h1 = pool_math::bin_end(p, H, P);
    const int64_t w0 = pool_math::bin_start(q, W, Q), w1 = pool_math::bin_end(q, W, Q);
    const T* xp = x + plane * H * W;
    double sum = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += xp[h * W + w];
    y[i] = static_cast<T>(sum / ((h1 - h0) * (w1 - w0)));
  }
}

template <typename T>
__global__ void adaptive_backward(const T* dy, int64_t total, int64_t H, int64_t W, int64_t P, int64_t Q, T* dx) {
  MINIDL_FOR_EACH(i, total) {
    const int64_t q = i % Q, p = (i / Q) % P, plane = i / (P * Q);
    const int64_t h0 = pool_math::bin_start(p, H, P), h1 = pool_math::bin_end(p, H, P);
    const int64_t w0 = pool_math::bin_start(q, W, Q), w1 = pool_math::bin_end(q, W, Q);
    const T share = dy[i] / static_cast<T>((h1 - h0) * (w1 - w0));
    T* d = dx + plane * H * W;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) atomicAdd(d + h * W + w, share);
  }
}

void zero(Tensor& t, cudaStream_t s, const char* op) {
  MINIDL_CUDA_CHECK(cudaMemsetAsync(t.raw_data(), 0, t.nbytes(), s), op);
}

void max_pool2d_forward(const Tensor& x, const Window2d& win, kernels::MaxPoolForward& out) {
  const int64_t H = x.size(2), W = x.size(3), P = out.y.size(2), Q = out.y.size(3);
  launch(x.device().index, "max_pool2d", [&](cudaStream_t s) {
    dispatch_floating(x.dtype(), "max_pool2d", [&](auto v) {
      using T = decltype(v);
      max_forward<T><<<blocks_for(out.y.numel()), kThreads, 0, s>>>(x.data<T>(), out.y.numel(), H, W, P, Q, win,
                                                                    out.y.data<T>(), out.indices.data<int64_t>());
    });
  });
}
MINIDL_REGISTER_KERNEL(max_pool2d_forward_kernel, CUDA, max_pool2d_forward);

void max_pool2d_backward(const Tensor& dy, const Tensor& indices, Tensor& dx) {
  launch(dy.device().index, "max_pool2d_backward", [&](cudaStream_t s) {
    zero(dx, s, "max_pool2d_backward");
    dispatch_floating(dy.dtype(), "max_pool2d_backward", [&](auto v) {
      using T = decltype(v);
      max_backward<T><<<blocks_for(dy.numel()), kThreads, 0, s>>>(dy.data<T>(), indices.data<int64_t>(), dy.numel(),
                                                                  dx.size(2) * dx.size(3), dy.size(2) * dy.size(3),
                                                                  dx.data<T>());
    });
  });
}
MINIDL_REGISTER_KERNEL(max_pool2d_backward_kernel, CUDA, max_pool2d_backward);

void avg_pool2d_forward(const Tensor& x, const Window2d& win, Tensor& y) {
  const int64_t H = x.size(2), W = x.size(3), P = y.size(2), Q = y.size(3);
  launch(x.device().index, "avg_pool2d", [&](cudaStream_t s) {
    dispatch_floating(x.dtype(), "avg_pool2d", [&](auto v) {
      using T = decltype(v);
      avg_forward<T><<<blocks_for(y.numel()), kThreads, 0, s>>>(x.data<T>(), y.numel(), H, W, P, Q, win, y.data<T>());
    });
  });
}
MINIDL_REGISTER_KERNEL(avg_pool2d_forward_kernel, CUDA, avg_pool2d_forward);

void avg_pool2d_backward(const Tensor& dy, const Window2d& win, Tensor& dx) {
  launch(dy.device().index, "avg_pool2d_backward", [&](cudaStream_t s) {
    zero(dx, s, "avg_pool2d_backward");
    dispatch_floating(dy.dtype(), "avg_pool2d_backward", [&](auto v) {
      using T = decltype(v);
      avg_backward<T><<<blocks_for(dy.numel()), kThreads, 0, s>>>(dy.data<T>(), dy.numel(), dx.size(2), dx.size(3),
                                                                  dy.size(2), dy.size(3), win, dx.data<T>());
    });
  });
}
MINIDL_REGISTER_KERNEL(avg_pool2d_backward_kernel, CUDA, avg_pool2d_backward);

void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  launch(x.device().index, "adaptive_avg_pool2d", [&](cudaStream_t s) {
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto v) {
      using T = decltype(v);
      adaptive_forward<T><<<blocks_for(y.numel()), kThreads, 0, s>>>(x.data<T>(), y.numel(), x.size(2), x.size(3),
                                                                     y.size(2), y.size(3), y.data<T>());
    });
  });
}
MINIDL_REGISTER_KERNEL(adaptive_avg_pool2d_forward_kernel, CUDA, adaptive_avg_pool2d_forward);

void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  launch(dy.device().index, "adaptive_avg_pool2d_backward", [&](cudaStream_t s) {
    zero(dx, s, "adaptive_avg_pool2d_backward");
    dispatch_floating(dy.dtype(), "adaptive_avg_pool2d_backward", [&](auto v) {
      using T = decltype(v);
      adaptive_backward<T><<<blocks_for(dy.numel()), kThreads, 0, s>>>(dy.data<T>(), dy.numel(), dx.size(2),
                                                                       dx.size(3), dy.size(2), dy.size(3), dx.data<T>());
    });
  });
}
MINIDL_REGISTER_KERNEL(adaptive_avg_pool2d_backward_kernel, CUDA, adaptive_avg_pool2d_backward);

}  // namespace

}  // namespace minidl::cuda
