// The CPU caching allocator behind Storage.
//
// Large blocks (the activations and gradients of a training step) are kept on free lists by
// size when released and handed out again, so that a steady training loop stops calling into
// the kernel for fresh pages (each new page costs a page fault on first touch). Small blocks
// go straight to the system allocator.
#pragma once

#include <cstddef>

namespace minidl::cpu {

/// 64-byte aligned, uninitialized.
void* allocate(size_t nbytes);
void release(void* data, size_t nbytes);

struct MemoryStats {
  size_t allocated = 0;       // bytes in live tensors
  size_t cached = 0;          // bytes on the free lists
  size_t peak_allocated = 0;  // high-water mark of `allocated`
};
MemoryStats memory_stats();
/// Returns every cached block to the system.
void empty_cache();

}  // namespace minidl::cpu
