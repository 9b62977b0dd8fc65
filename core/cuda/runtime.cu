#include "runtime.h"

#include "../device.h"
#include "../error.h"

namespace minidl::cuda {

void check(cudaError_t status, const char* call, const char* op) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear the sticky error of a failed launch, so that later calls work
  MINIDL_FAIL(op, ": CUDA call `", call, "` failed: ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
}

void set_device(int device, const char* op) {
  const int count = device_count();
  MINIDL_CHECK(device >= 0 && device < count, op, ": expected a CUDA device index below ", count,
               count == 0 ? " (no CUDA device is visible to this process)" : "", ", found cuda:", device);
  MINIDL_CUDA_CHECK(cudaSetDevice(device), op);
}

cudaStream_t stream(int device) {
  return once_per_device<cudaStream_t>(device, [](int) {
    cudaStream_t s = nullptr;
    MINIDL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cuda::stream");
    return s;
  });
}

void synchronize(int device) {
  const int count = device_count();
  MINIDL_CHECK(device >= -1 && device < count, "cuda::synchronize: no device cuda:", device, " (", count,
               " visible)");
  for (int d = device < 0 ? 0 : device; d < (device < 0 ? count : device + 1); ++d) {
    set_device(d, "cuda::synchronize");
    MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream(d)), "cuda::synchronize");
  }
}

}  // namespace minidl::cuda
