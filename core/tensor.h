// Tensor: a handle to a contiguous, row-major block of elements (shape, dtype, device) whose
// storage is shared with its views. Copying a Tensor copies the handle, not the data.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "dtype.h"
#include "error.h"
#include "shape.h"
#include "storage.h"

namespace minidl {

/// The autograd state of a tensor (requires_grad, grad, grad_fn). Defined in
/// autograd/variable.h; core only carries the pointer and never looks inside.
struct AutogradMeta;

/// What a Tensor handle points to. Views share `storage` and differ in offset and shape.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements, from the start of storage
  Shape shape;
  DType dtype = kFloat32;
  std::shared_ptr<AutogradMeta> autograd;
};

class Tensor {
 public:
  /// An undefined tensor (defined() == false): "no gradient", "no bias".
  Tensor() = default;
  /// A tensor over `storage` starting at element `offset` (used by factories and views).
  Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, DType dtype);
  /// A new, uninitialized tensor.
  static Tensor empty(const Shape& shape, DType dtype = kFloat32, Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  /// Size of one dim; negative dims count from the end: x.size(-1).
  int64_t size(int64_t dim) const;
  int64_t numel() const { return minidl::numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(dtype()); }

  /// Typed pointer to the first element; throws if T does not match dtype().
  template <typename T> T* data();
  template <typename T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;

  /// The single element, converted to T: loss.item<double>().
  template <typename T> T item() const;
  /// One element by index, converted to T: x.at<float>({0, 2}). Bounds-checked.
  template <typename T> T at(const std::vector<int64_t>& index) const;
  /// All elements in row-major order, converted to T.
  template <typename T> std::vector<T> to_vector() const;

  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  int64_t storage_offset() const { return impl().offset; }
  /// Makes this tensor (and every handle to it) hold `other`'s storage, shape and dtype,
  /// keeping its autograd state: how a Module converts its parameters in place (PyTorch's
  /// `param.data = ...`).
  void set_data(const Tensor& other);
  /// True when this handle is the only one to the tensor and the tensor the only one on its
  /// storage: nothing else can see a change to it.
  bool is_unique() const { return impl_.use_count() == 1 && impl().storage.use_count() == 1; }
  /// True when both handles point to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- Differentiable tensor methods. Declared here so they read as in PyTorch; they record
  // ---- autograd nodes, so they are defined in autograd/ (core's .cpp files never call them).

  /// Same data, new shape; one dim may be -1. Shares storage with *this.
  Tensor reshape(const Shape& shape) const;
  /// Alias of reshape (every minidl tensor is contiguous, so a view is always possible).
  Tensor view(const Shape& shape) const { return reshape(shape); }
  /// A copy with its own storage.
  Tensor clone() const;
  /// A copy converted to `dtype` (*this when it already has that dtype).
  Tensor to(DType dtype) const;
  /// A copy on `device` (*this when it is already there); gradients flow back to this device.
  /// A copy to the host waits for the device's queued work: x.to(Device::cpu()).
  Tensor to(Device device) const;
  /// The same values on `device` without a graph (*this when it is already there): a storage copy.
  Tensor device_copy(Device device) const;

  /// Marks a leaf tensor as needing a gradient; returns *this: randn({3}).requires_grad_().
  Tensor& requires_grad_(bool requires_grad = true);
  bool requires_grad() const;
  /// The accumulated gradient of a leaf after backward(); undefined before.
  Tensor grad() const;
  /// Leaves are tensors not produced by a recorded op (user-created inputs, parameters).
  bool is_leaf() const;
  /// Name of the op that produced this tensor ("MulBackward"), or "" for a leaf.
  std::string grad_fn_name() const;
  /// Backpropagates from this tensor; a non-scalar needs `grad` of the same shape.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  /// Same storage, cut from the graph: no grad_fn, requires_grad false.
  Tensor detach() const;
  /// Drops the accumulated gradient (grad() becomes undefined, like set_to_none in PyTorch).
  void zero_grad();

  /// The autograd slot; only autograd/ reads and writes it.
  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return impl().autograd; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) { impl().autograd = std::move(meta); }

 private:
  TensorImpl& impl() const;
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

/// Tensors by name, in a fixed order: a state dict, a module's named parameters, a checkpoint.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Prints like PyTorch: tensor([[1.0000, 2.0000], [3.0000, 4.0000]], dtype=float64).
std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

// ---- template definitions ----

template <typename T> T* Tensor::data() {
  check_dtype(dtype_of<T>(), "data<T>()");
  return static_cast<T*>(raw_data());
}

template <typename T> const T* Tensor::data() const {
  check_dtype(dtype_of<T>(), "data<T>()");
  return static_cast<const T*>(raw_data());
}

template <typename T> std::vector<T> Tensor::to_vector() const {
  if (!device().is_cpu()) return device_copy(Device::cpu()).to_vector<T>();
  std::vector<T> out(static_cast<size_t>(numel()));
  dispatch_all(dtype(), [&](auto v) {
    using S = decltype(v);
    const S* p = static_cast<const S*>(raw_data());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}

template <typename T> T Tensor::item() const {
  MINIDL_CHECK(numel() == 1, "item: expected a tensor with one element, found shape ",
               to_string(shape()));
  return to_vector<T>()[0];
}

template <typename T> T Tensor::at(const std::vector<int64_t>& index) const {
  if (!device().is_cpu()) return device_copy(Device::cpu()).at<T>(index);
  MINIDL_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: expected ", dim(),
               " indices for shape ", to_string(shape()), ", found ", index.size());
  int64_t flat = 0;
  for (size_t d = 0; d < index.size(); ++d) {
    MINIDL_CHECK(index[d] >= 0 && index[d] < shape()[d], "at: index ", index[d], " is out of range for dim ",
                 d, " of shape ", to_string(shape()));
    flat = flat * shape()[d] + index[d];
  }
  return dispatch_all(dtype(), [&](auto v) {
    using S = decltype(v);
    return static_cast<T>(static_cast<const S*>(raw_data())[flat]);
  });
}

}  // namespace minidl
