// MINIDL_HOST_DEVICE marks the small functions that CPU and CUDA kernels share (the elementwise
// ops, the normalization math): __host__ __device__ under nvcc, nothing for the C++ compiler.
#pragma once

#if defined(__CUDACC__)
#define MINIDL_HOST_DEVICE __host__ __device__
#else
#define MINIDL_HOST_DEVICE
#endif
