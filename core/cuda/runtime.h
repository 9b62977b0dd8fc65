// The CUDA runtime as the backend uses it (internal: included by core/ only, never installed).
// Every CUDA call goes through MINIDL_CUDA_CHECK, so a failure raises minidl::Error naming the
// call, the driver's status string and the op that made it.
#pragma once

#include <cuda_runtime.h>

namespace minidl::cuda {

/// Raises minidl::Error "op: CUDA call `call` failed: <status name>: <status string>".
void check(cudaError_t status, const char* call, const char* op);

/// Checks that cuda:`device` exists (naming `op` otherwise) and makes it the current device.
void set_device(int device, const char* op);

/// The one stream of `device`, created on first use: every kernel and copy of that device runs
/// on it in order, so the host waits only on a copy to the host or cuda::synchronize().
cudaStream_t stream(int device);

}  // namespace minidl::cuda

#define MINIDL_CUDA_CHECK(call, op) ::minidl::cuda::check((call), #call, (op))
