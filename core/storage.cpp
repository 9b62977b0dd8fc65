#include "storage.h"

#include <new>

#include "error.h"

namespace minidl {

namespace {
// One cache line: lets the BLAS and the vectorized loops use aligned loads.
constexpr std::align_val_t kCpuAlignment{64};
}  // namespace

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  MINIDL_CHECK(device.is_cpu(), "Storage: cannot allocate on ", device,
               ": this build keeps tensors on the cpu only (the CUDA backend adds device memory)");
  try {
    data_ = ::operator new(nbytes == 0 ? 1 : nbytes, kCpuAlignment);
  } catch (const std::bad_alloc&) {
    MINIDL_FAIL("Storage: out of memory allocating ", nbytes, " bytes on ", device);
  }
}

Storage::~Storage() { ::operator delete(data_, kCpuAlignment); }

}  // namespace minidl
