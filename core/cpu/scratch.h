// Scratch memory a kernel keeps between calls, one per thread (thread_local): 64-byte aligned,
// grown when a call needs more and never shrunk, so that steady training steps neither allocate
// nor fault in fresh pages. Its contents are whatever the last call left: callers write (or zero)
// all they read.
#pragma once

#include <cstddef>
#include <new>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

template <typename T>
struct Scratch {
  T* data = nullptr;
  size_t size = 0;
  T* get(size_t n) {
    if (n > size) {
      ::operator delete(data, std::align_val_t{64});
      data = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
      size = n;
    }
    return data;
  }
  ~Scratch() { ::operator delete(data, std::align_val_t{64}); }
};

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
