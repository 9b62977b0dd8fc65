#include "storage.h"

#include <new>

#include "cpu/allocator.h"
#include "error.h"

namespace minidl {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  MINIDL_CHECK(device.is_cpu(), "Storage: cannot allocate on ", device,
               ": this build keeps tensors on the cpu only (the CUDA backend adds device memory)");
  try {
    data_ = cpu::allocate(nbytes);
  } catch (const std::bad_alloc&) {
    MINIDL_FAIL("Storage: out of memory allocating ", nbytes, " bytes on ", device);
  }
}

Storage::~Storage() { cpu::release(data_, nbytes_); }

}  // namespace minidl
