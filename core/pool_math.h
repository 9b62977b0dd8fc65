// Pooling windows as the CPU and CUDA kernels both see them (cpu/pool.cpp, cuda/pool.cu).
#pragma once

#include <cstdint>

#include "host_device.h"

namespace minidl::pool_math {

/// The input rows [h0, h1) and columns [w0, w1) under output (p, q)'s window, clipped to the image.
struct Window {
  int64_t h0, h1, w0, w1;
};

MINIDL_HOST_DEVICE inline Window window_at(int64_t p, int64_t q, int64_t H, int64_t W, int64_t kernel_h,
                                           int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                           int64_t pad_w) {
  const int64_t hs = p * stride_h - pad_h, ws = q * stride_w - pad_w;
  return {hs > 0 ? hs : 0, hs + kernel_h < H ? hs + kernel_h : H, ws > 0 ? ws : 0, ws + kernel_w < W ? ws + kernel_w : W};
}

/// The divisor of average pooling at output (p, q): the window including its zero padding but
/// not the part past the padding (PyTorch's count_include_pad=True).
MINIDL_HOST_DEVICE inline int64_t padded_area(int64_t p, int64_t q, int64_t H, int64_t W, int64_t kernel_h,
                                              int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                              int64_t pad_w) {
  const int64_t hs = p * stride_h - pad_h, ws = q * stride_w - pad_w;
  const int64_t he = hs + kernel_h < H + pad_h ? hs + kernel_h : H + pad_h;
  const int64_t we = ws + kernel_w < W + pad_w ? ws + kernel_w : W + pad_w;
  return (he - hs) * (we - ws);
}

/// Adaptive pooling's bins: output i of `out` covers [floor(i·in/out), ceil((i + 1)·in/out)).
MINIDL_HOST_DEVICE inline int64_t bin_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
MINIDL_HOST_DEVICE inline int64_t bin_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace minidl::pool_math
