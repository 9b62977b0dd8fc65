#include "allocator.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace minidl::cpu {
namespace {

constexpr std::align_val_t kAlignment{64};   // one cache line: aligned vector loads
constexpr size_t kCachedFrom = 64 * 1024;    // smaller blocks are cheap for malloc itself
constexpr size_t kRoundTo = 4096;            // one page: near sizes share a free list

size_t rounded(size_t nbytes) { return nbytes < kCachedFrom ? nbytes : (nbytes + kRoundTo - 1) / kRoundTo * kRoundTo; }

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  MemoryStats stats;
};

// Never destroyed: tensors in static objects may be released after main returns.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) {
  const size_t size = rounded(std::max<size_t>(nbytes, 1));
  Cache& c = cache();
  if (size >= kCachedFrom) {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached -= size;
      c.stats.allocated += size;
      c.stats.peak_allocated = std::max(c.stats.peak_allocated, c.stats.allocated);
      return p;
    }
  }
  void* p = ::operator new(size, kAlignment);  // throws std::bad_alloc
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.allocated += size;
  c.stats.peak_allocated = std::max(c.stats.peak_allocated, c.stats.allocated);
  return p;
}

void release(void* data, size_t nbytes) {
  if (!data) return;
  const size_t size = rounded(std::max<size_t>(nbytes, 1));
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.allocated -= size;
  if (size >= kCachedFrom) {
    c.free_blocks[size].push_back(data);
    c.stats.cached += size;
  } else {
    ::operator delete(data, kAlignment);
  }
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, blocks] : c.free_blocks)
    for (void* p : blocks) ::operator delete(p, kAlignment);
  c.free_blocks.clear();
  c.stats.cached = 0;
}

}  // namespace minidl::cpu
