// How the CUDA kernels are launched, in one place: the block size, the grid for n elements,
// the grid-stride loop, and a launch on a tensor's device whose failure names the op.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime.h"

namespace minidl::cuda {

/// Threads per block for every kernel of the backend (the block reductions assume it).
constexpr int kThreads = 256;

/// Blocks for one thread per element of `total`, capped at 65,535 (grid-stride loops cover the rest).
inline int blocks_for(int64_t total) {
  return static_cast<int>(std::min<int64_t>((total + kThreads - 1) / kThreads, 65535));
}

/// A grid-stride loop: i takes every value in [0, n) across the whole grid.
#define MINIDL_FOR_EACH(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

/// Makes cuda:`device` current, runs launch(stream) on its stream and checks the launch.
template <typename F>
void launch(int device, const char* op, F launch_on) {
  set_device(device, op);
  launch_on(stream(device));
  MINIDL_CUDA_CHECK(cudaGetLastError(), op);
}

}  // namespace minidl::cuda
