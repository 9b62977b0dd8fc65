// CUDA device query. The CUDA backend (kernels, allocator, streams) grows beside this file.
#include <cuda_runtime.h>

#include "../device.h"

namespace minidl::cuda {

int device_count() {
  int count = 0;
  // Without a GPU or a driver this returns cudaErrorNoDevice / cudaErrorInsufficientDriver:
  // that means "no device", not an error for the caller.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return 0;
  }
  return count;
}

bool is_built() { return true; }

}  // namespace minidl::cuda
