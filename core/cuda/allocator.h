// The CUDA caching allocator behind Storage (internal). Freed blocks stay on per-device free
// lists by rounded size and are handed out again, so a steady training loop makes no
// cudaMalloc/cudaFree calls. One stream per device makes reuse safe: a block freed by one op is
// only written by ops queued after it.
#pragma once

#include <cstddef>

namespace minidl::cuda {

/// `nbytes` of memory on cuda:`device` (256-byte aligned, uninitialized). Out of memory, it frees
/// the cache and tries once more, then raises minidl::Error with the size and memory_stats().
void* allocate(size_t nbytes, int device);
void release(void* data, size_t nbytes, int device);

/// Copies `nbytes` between any two devices (host memory is device -1) on the CUDA device's stream;
/// a copy to the host waits for it to finish.
void copy(void* dst, int dst_device, const void* src, int src_device, size_t nbytes);

}  // namespace minidl::cuda
