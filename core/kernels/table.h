// A kernel's table of implementations, one slot per device type — PyTorch's DispatchStub in
// plain C++, without its macros.
//
// Each op family's header (core/kernels/norm.h, ...) writes a kernel's signature once, as the
// type of its table (a C++17 inline variable: defined once, in the header)
//     inline KernelTable<void(const Tensor& x, ..., NormForward& out)> group_norm_forward_kernel{"group_norm"};
// the file that defines a backend's kernel fills its slot
//     MINIDL_REGISTER_KERNEL(group_norm_forward_kernel, CPU, group_norm_forward);   // core/cpu/group_norm.cpp
// and the family's dispatcher (core/kernels/norm.cpp) checks the arguments, allocates the
// outputs, skips empty tensors and calls group_norm_forward_kernel.at(x.device())(...).
//
// The CPU has a slot per instruction-set path: core/cpu/ is compiled once per path, each copy
// registers its kernels in its path's slot (core/cpu/capability.h), and at() returns the copy of
// the path cpu_capability() chose (core/cpu_capability.h).
#pragma once

#include "../cpu_capability.h"
#include "../device.h"
#include "../error.h"
#include "../threads.h"

namespace minidl::kernels {

constexpr int kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA

template <typename Fn>
class KernelTable {
 public:
  // constexpr: the table is filled with nulls before any registration runs (constant
  // initialization), whatever the order in which the library's files are initialized.
  constexpr explicit KernelTable(const char* op) : op_(op) {}

  /// The kernel for `device` (on the CPU: for the path in use), or an Error naming the op and the
  /// device when this build has none. A CPU kernel's dispatch is also when the thread count adapts
  /// to the machine's load (core/threads.h).
  Fn* at(Device device) const {
    if (device.is_cpu()) detail::tick_threads();
    Fn* fn = device.is_cpu() ? cpu_[static_cast<int>(cpu_capability())] : slots_[static_cast<int>(device.type)];
    MINIDL_CHECK(fn != nullptr, op_, ": no kernel for device ", device, " in this build");
    return fn;
  }
  /// Does this build have a kernel for `device` (on the CPU: for the path in use)?
  bool has(Device device) const {
    return (device.is_cpu() ? cpu_[static_cast<int>(cpu_capability())] : slots_[static_cast<int>(device.type)]) !=
           nullptr;
  }
  /// `capability` is the CPU path a kernel was compiled for (ignored for other devices).
  void set(DeviceType type, Fn* fn, CpuCapability capability) {
    (type == DeviceType::CPU ? cpu_[static_cast<int>(capability)] : slots_[static_cast<int>(type)]) = fn;
  }
  const char* op() const { return op_; }

 private:
  const char* op_;
  Fn* slots_[kDeviceTypes] = {};
  Fn* cpu_[kCpuCapabilities] = {};
};

/// Fills one slot of a table when the library is loaded (a static object per kernel).
struct KernelRegistration {
  template <typename Fn>
  KernelRegistration(KernelTable<Fn>& table, DeviceType type, Fn* fn, CpuCapability capability) {
    table.set(type, fn, capability);
  }
};

}  // namespace minidl::kernels

// The CPU path of the kernel file being compiled (core/cpu/capability.h); unused elsewhere.
#if defined(MINIDL_CPU_CAPABILITY_ENUM)
#define MINIDL_KERNEL_CPU_CAPABILITY ::minidl::CpuCapability::MINIDL_CPU_CAPABILITY_ENUM
#else
#define MINIDL_KERNEL_CPU_CAPABILITY ::minidl::CpuCapability::Generic
#endif

/// MINIDL_REGISTER_KERNEL(table, CPU or CUDA, function): `function` must have the table's
/// signature exactly (a mismatch does not compile).
#define MINIDL_REGISTER_KERNEL(table, device, fn)                                     \
  static const ::minidl::kernels::KernelRegistration table##_##device##_registration( \
      ::minidl::kernels::table, ::minidl::DeviceType::device, fn, MINIDL_KERNEL_CPU_CAPABILITY)
