#include "allocator.h"

#include <algorithm>
#include <string>
#include <map>
#include <mutex>
#include <vector>

#include "../device.h"
#include "../error.h"
#include "runtime.h"

namespace minidl::cuda {
namespace {

// Small blocks round to 512 bytes, large ones to 2 MiB: near sizes share a free list and the
// cache does not fragment into many odd sizes.
constexpr size_t kSmall = 1 << 20, kSmallRound = 512, kLargeRound = 2 << 20;

size_t rounded(size_t nbytes) {
  const size_t r = nbytes <= kSmall ? kSmallRound : kLargeRound;
  return (std::max<size_t>(nbytes, 1) + r - 1) / r * r;
}

struct DeviceCache {
  std::map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  MemoryStats stats;
};

struct Cache {
  std::mutex mutex;
  std::vector<DeviceCache> devices;
  DeviceCache& on(int device) {
    if (devices.empty()) devices.resize(static_cast<size_t>(device_count()));
    return devices.at(static_cast<size_t>(device));
  }
};

// Never destroyed: tensors in static objects may be released after main returns.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// Gives every cached block of one device back to the driver; the caller holds the mutex.
void free_cached(DeviceCache& d, int device) {
  if (d.free_blocks.empty()) return;
  cudaSetDevice(device);
  cudaStreamSynchronize(stream(device));  // queued kernels may still use a freed block
  for (auto& [size, blocks] : d.free_blocks)
    for (void* p : blocks) cudaFree(p);
  d.stats.reserved = d.stats.allocated;
  d.free_blocks.clear();
}

}  // namespace

void* allocate(size_t nbytes, int device) {
  const int count = device_count();
  MINIDL_CHECK(device >= 0 && device < count, "Storage: cannot allocate on cuda:", device, ": ",
               count == 0 ? "no CUDA device is visible to this process" : "this process sees only cuda:0 to cuda:",
               count == 0 ? "" : std::to_string(count - 1));
  set_device(device, "cuda allocator");
  const size_t size = rounded(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  DeviceCache& d = c.on(device);
  void* p = nullptr;
  auto it = d.free_blocks.find(size);
  if (it != d.free_blocks.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t status = cudaMalloc(&p, size);
    if (status == cudaErrorMemoryAllocation) {  // free the cache, try once more
      cudaGetLastError();
      free_cached(d, device);
      status = cudaMalloc(&p, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      MINIDL_FAIL("cuda allocator: out of memory on cuda:", device, " allocating ", size, " bytes (", nbytes,
                  " asked for); allocated ", d.stats.allocated, " bytes, reserved ", d.stats.reserved,
                  " bytes, peak ", d.stats.peak_allocated, " bytes, after emptying the cache");
    }
    MINIDL_CUDA_CHECK(status, "cuda allocator");
    d.stats.reserved += size;
  }
  d.stats.allocated += size;
  d.stats.peak_allocated = std::max(d.stats.peak_allocated, d.stats.allocated);
  return p;
}

void release(void* data, size_t nbytes, int device) {
  if (!data) return;
  const size_t size = rounded(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  DeviceCache& d = c.on(device);
  d.stats.allocated -= size;
  d.free_blocks[size].push_back(data);
}

MemoryStats memory_stats(int device) {
  MINIDL_CHECK(device >= 0 && device < device_count(), "cuda::memory_stats: no device cuda:", device, " (",
               device_count(), " visible)");
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.on(device).stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (int device = 0; device < device_count(); ++device) free_cached(c.on(device), device);
}

void copy(void* dst, int dst_device, const void* src, int src_device, size_t nbytes) {
  if (nbytes == 0) return;
  const int device = dst_device >= 0 ? dst_device : src_device;  // whose stream orders the copy
  set_device(device, "to");
  if (src_device >= 0 && dst_device >= 0 && src_device != dst_device) {
    // Work queued on the source device must finish before another device's stream reads it.
    MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream(src_device)), "to");
  }
  MINIDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, stream(device)), "to");
  if (dst_device < 0) MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream(device)), "to");  // the host reads next
}

}  // namespace minidl::cuda
