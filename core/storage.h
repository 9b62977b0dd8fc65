// Storage: one contiguous buffer on one device, shared by every tensor that views it.
#pragma once

#include <cstddef>

#include "device.h"

namespace minidl {

class Storage {
 public:
  /// Allocates `nbytes` on `device` (64-byte aligned on the CPU; contents uninitialized).
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  /// Copies `nbytes` from src to dst, any devices (through the CUDA runtime when one is a GPU).
  static void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace minidl
