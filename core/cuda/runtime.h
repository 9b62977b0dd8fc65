// The CUDA runtime as the backend uses it (internal: included by core/ and by dist/nccl.cpp for the stream, never installed).
// Every CUDA call goes through MINIDL_CUDA_CHECK, so a failure raises minidl::Error naming the
// call, the driver's status string and the op that made it.
#pragma once

#include <cuda_runtime.h>

#include <mutex>
#include <vector>

#include "../device.h"
#include "../error.h"

namespace minidl::cuda {

/// Raises minidl::Error "op: CUDA call `call` failed: <status name>: <status string>".
void check(cudaError_t status, const char* call, const char* op);

/// Checks that cuda:`device` exists (naming `op` otherwise) and makes it the current device.
void set_device(int device, const char* op);

/// The one stream of `device`, created on first use: every kernel and copy of that device runs
/// on it in order, so the host waits only on a copy to the host or cuda::synchronize().
cudaStream_t stream(int device);

#define MINIDL_CUDA_CHECK(call, op) ::minidl::cuda::check((call), #call, (op))

/// One object per device — a stream, a cuBLAS or cuDNN handle — made by make(device) on first use
/// and kept until the process ends (work may use it while static objects are destroyed). Each
/// call site (each Make) has its own table.
template <typename H, typename Make>
H once_per_device(int device, Make make) {
  static std::mutex mutex;
  static std::vector<H>* slots = new std::vector<H>();
  std::lock_guard<std::mutex> lock(mutex);
  if (slots->empty()) slots->resize(static_cast<size_t>(device_count()), H{});
  MINIDL_CHECK(device >= 0 && device < static_cast<int>(slots->size()), "CUDA: no device cuda:", device, " (",
               slots->size(), " visible)");
  if (!(*slots)[device]) {
    MINIDL_CUDA_CHECK(cudaSetDevice(device), "CUDA");
    (*slots)[device] = make(device);
  }
  return (*slots)[device];
}

}  // namespace minidl::cuda
