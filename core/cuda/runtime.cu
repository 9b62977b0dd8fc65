#include "runtime.h"

#include <mutex>
#include <vector>

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
  static std::mutex mutex;
  static std::vector<cudaStream_t> streams;  // by device; never destroyed (tensors may outlive main)
  std::lock_guard<std::mutex> lock(mutex);
  if (streams.empty()) streams.resize(static_cast<size_t>(device_count()), nullptr);
  MINIDL_CHECK(device >= 0 && device < static_cast<int>(streams.size()), "cuda::stream: no device cuda:", device);
  if (!streams[device]) {
    MINIDL_CUDA_CHECK(cudaSetDevice(device), "cuda::stream");
    MINIDL_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cuda::stream");
  }
  return streams[device];
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
