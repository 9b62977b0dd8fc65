// The differentiable methods declared on Tensor in core/tensor.h: reshape, clone, to(dtype), to(device).
#include <algorithm>

#include "../../core/factory.h"
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

// dL/dx: zeros, with g in the rows taken.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  MINIDL_CHECK(dim == 0, "narrow: only dim 0 is supported, found dim ", dim);
  return record("NarrowBackward", kernels::narrow(x, start, length), {x},
                [shape = x.shape(), dtype = x.dtype(), device = x.device(), start, length](const Tensor& g, const Needs&) -> Grads {
                  Tensor dx = zeros(shape, dtype, device);
                  Tensor rows = kernels::narrow(dx, start, length);
                  kernels::copy_(rows, g);
                  return {dx};
                });
}

// dL/d(tensors[i]): the rows of g that tensor i filled.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  MINIDL_CHECK(dim == 0, "cat: only dim 0 is supported, found dim ", dim);
  MINIDL_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  MINIDL_CHECK(first.defined() && first.dim() >= 1, "cat: expected tensors with a dim 0");
  Shape shape = first.shape();
  shape[0] = 0;
  std::vector<int64_t> rows;
  for (const Tensor& t : tensors) {
    Shape rest = t.shape(), expected = first.shape();
    MINIDL_CHECK(t.defined() && t.dim() == first.dim() && t.dtype() == first.dtype() && t.device() == first.device() &&
                     std::equal(rest.begin() + 1, rest.end(), expected.begin() + 1),
                 "cat: expected tensors like ", to_string(first.shape()), " ", first.dtype(), " on ", to_string(first.device()),
                 " but for dim 0, found ", t.defined() ? to_string(t.shape()) : "undefined");
    rows.push_back(t.size(0));
    shape[0] += t.size(0);
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  int64_t at = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor part = kernels::narrow(out, at, rows[i]);
    kernels::copy_(part, tensors[i]);
    at += rows[i];
  }
  return record("CatBackward", out, tensors, [rows](const Tensor& g, const Needs&) -> Grads {
    Grads grads;
    int64_t start = 0;
    for (int64_t n : rows) {
      grads.push_back(kernels::copy(kernels::narrow(g, start, n)));
      start += n;
    }
    return grads;
  });
}

Tensor flatten(const Tensor& x, int64_t start_dim) {
  MINIDL_CHECK(x.defined(), "flatten: expected a defined tensor");
  const int64_t start = std::min(wrap_dim(start_dim, std::max<int64_t>(x.dim(), 1), "flatten"), x.dim());
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(numel(Shape(x.shape().begin() + start, x.shape().end())));
  return x.reshape(shape);
}

}  // namespace minidl
