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
#pragma once

#include "../device.h"
#include "../error.h"

namespace minidl::kernels {

constexpr int kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA

template <typename Fn>
class KernelTable {
 public:
  // constexpr: the table is filled with nulls before any registration runs (constant
  // initialization), whatever the order in which the library's files are initialized.
  constexpr explicit KernelTable(const char* op) : op_(op) {}

  /// The kernel for `device`, or an Error naming the op and the device when this build has none.
  Fn* at(Device device) const {
    Fn* fn = slots_[static_cast<int>(device.type)];
    MINIDL_CHECK(fn != nullptr, op_, ": no kernel for device ", device, " in this build");
    return fn;
  }
  bool has(DeviceType type) const { return slots_[static_cast<int>(type)] != nullptr; }
  void set(DeviceType type, Fn* fn) { slots_[static_cast<int>(type)] = fn; }
  const char* op() const { return op_; }

 private:
  const char* op_;
  Fn* slots_[kDeviceTypes] = {};
};

/// Fills one slot of a table when the library is loaded (a static object per kernel).
struct KernelRegistration {
  template <typename Fn>
  KernelRegistration(KernelTable<Fn>& table, DeviceType type, Fn* fn) {
    table.set(type, fn);
  }
};

}  // namespace minidl::kernels

/// MINIDL_REGISTER_KERNEL(table, CPU or CUDA, function): `function` must have the table's
/// signature exactly (a mismatch does not compile).
#define MINIDL_REGISTER_KERNEL(table, device, fn)                                                   \
  static const ::minidl::kernels::KernelRegistration table##_##device##_registration( \
      ::minidl::kernels::table, ::minidl::DeviceType::device, fn)
