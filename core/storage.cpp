#include "storage.h"

#include <new>

#include "cpu/allocator.h"
#include "cuda/allocator.h"
#include "error.h"

namespace minidl {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cuda()) {
    data_ = cuda::allocate(nbytes, device.index);
    return;
  }
  try {
    data_ = cpu::allocate(nbytes);
  } catch (const std::bad_alloc&) {
    MINIDL_FAIL("Storage: out of memory allocating ", nbytes, " bytes on ", device);
  }
}

Storage::~Storage() {
  if (device_.is_cuda()) {
    cuda::release(data_, nbytes_, device_.index);
  } else {
    cpu::release(data_, nbytes_);
  }
}

}  // namespace minidl
