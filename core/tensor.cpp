#include "tensor.h"

namespace minidl {

Tensor::Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, DType dtype)
    : impl_(std::make_shared<TensorImpl>()) {
  const size_t needed = static_cast<size_t>(offset + minidl::numel(shape)) * element_size(dtype);
  MINIDL_CHECK(storage && offset >= 0 && needed <= storage->nbytes(), "Tensor: a view of shape ",
               to_string(shape), " at offset ", offset, " needs ", needed, " bytes, storage has ",
               storage ? storage->nbytes() : 0);
  impl_->storage = std::move(storage);
  impl_->offset = offset;
  impl_->shape = std::move(shape);
  impl_->dtype = dtype;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_sizes(shape, "empty");
  const size_t nbytes = static_cast<size_t>(minidl::numel(shape)) * element_size(dtype);
  return Tensor(std::make_shared<Storage>(nbytes, device), 0, shape, dtype);
}

void Tensor::set_data(const Tensor& other) {
  TensorImpl& me = impl();
  const TensorImpl& src = other.impl();
  me.storage = src.storage;
  me.offset = src.offset;
  me.shape = src.shape;
  me.dtype = src.dtype;
}

TensorImpl& Tensor::impl() const {
  MINIDL_CHECK(impl_ != nullptr, "Tensor: this tensor is undefined (default-constructed)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

void* Tensor::raw_data() {
  return static_cast<char*>(impl().storage->data()) + impl().offset * element_size(dtype());
}

const void* Tensor::raw_data() const {
  return static_cast<const char*>(impl().storage->data()) + impl().offset * element_size(dtype());
}

Tensor Tensor::device_copy(Device device) const {
  if (this->device() == device) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), device);
  Storage::copy_bytes(out.raw_data(), device, raw_data(), this->device(), nbytes());
  return out;
}

void Tensor::check_dtype(DType expected, const char* what) const {
  MINIDL_CHECK(dtype() == expected, what, ": expected dtype ", expected, ", found ", dtype());
}

}  // namespace minidl
