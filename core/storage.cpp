#include "storage.h"

#include <cstring>
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

void Storage::copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  auto index = [](Device d) { return d.is_cuda() ? d.index : -1; };  // -1: the host
  cuda::copy(dst, index(dst_device), src, index(src_device), nbytes);
}

Storage::~Storage() {
  if (device_.is_cuda()) {
    cuda::release(data_, nbytes_, device_.index);
  } else {
    cpu::release(data_, nbytes_);
  }
}

}  // namespace minidl
