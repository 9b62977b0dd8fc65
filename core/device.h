// Device: where a tensor's storage lives — the CPU, or a CUDA GPU by index ("cuda:0").
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

namespace minidl {

enum class DeviceType { CPU, CUDA };

/// A device: Device::cpu() or Device::cuda(0). Printed and parsed as "cpu", "cuda:0".
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  /// Parses "cpu", "cuda" or "cuda:N"; throws minidl::Error otherwise.
  static Device parse(const std::string& text);

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

std::string to_string(const Device& device);
std::ostream& operator<<(std::ostream& os, const Device& device);

namespace cuda {
/// Number of CUDA devices this process can use: 0 on a machine without a GPU or driver,
/// and 0 in a build without the CUDA backend. Never throws.
int device_count();
/// True when this build has the CUDA backend and a GPU is present.
inline bool is_available() { return device_count() > 0; }
/// True when the library was built with the CUDA backend (MINIDL_CUDA).
bool is_built();

/// Waits until the work queued on cuda:`device` (-1: every device) has finished. Kernels run
/// asynchronously on one stream per device; the host otherwise waits only when it copies a
/// tensor to the host (to(Device::cpu()), item(), to_vector(), printing).
void synchronize(int device = -1);

/// The caching allocator's bytes on one device: in live tensors, held from the driver (live and
/// cached), and the high-water mark of allocated.
struct MemoryStats {
  size_t allocated = 0, reserved = 0, peak_allocated = 0;
};
MemoryStats memory_stats(int device = 0);
/// Gives the cached blocks of every device back to the driver.
void empty_cache();
}  // namespace cuda

}  // namespace minidl
