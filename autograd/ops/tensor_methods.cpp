// The differentiable methods declared on Tensor in core/tensor.h: reshape, clone, to(dtype), to(device).
#include "../../core/kernels.h"
#include "../functional.h"

namespace minidl {

Tensor Tensor::reshape(const Shape& shape) const {
  return record("ReshapeBackward", kernels::reshape(*this, shape), {*this},
                [in = this->shape()](const Tensor& g, const Needs&) -> Grads { return {kernels::reshape(g, in)}; });
}

Tensor Tensor::clone() const {
  return record("CloneBackward", kernels::copy(*this), {*this},
                [](const Tensor& g, const Needs&) -> Grads { return {g}; });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  if (!is_floating(target)) return kernels::cast(*this, target);  // integers carry no gradient
  return record("ToBackward", kernels::cast(*this, target), {*this},
                [source = dtype()](const Tensor& g, const Needs&) -> Grads { return {kernels::cast(g, source)}; });
}

Tensor Tensor::to(Device target) const {
  MINIDL_CHECK(defined(), "to: expected a defined tensor");
  if (target == device()) return *this;
  return record("ToDeviceBackward", device_copy(target), {*this},
                [source = device()](const Tensor& g, const Needs&) -> Grads { return {g.device_copy(source)}; });
}

Tensor flatten(const Tensor& x, int64_t start_dim) {
  MINIDL_CHECK(x.defined(), "flatten: expected a defined tensor");
  const int64_t start = std::min(wrap_dim(start_dim, std::max<int64_t>(x.dim(), 1), "flatten"), x.dim());
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(numel(Shape(x.shape().begin() + start, x.shape().end())));
  return x.reshape(shape);
}

}  // namespace minidl
