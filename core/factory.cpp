#include "factory.h"

#include <cmath>
#include <cstring>

namespace minidl {

namespace {
// Fills element i with f(i), converted to the tensor's dtype. For a GPU the values are made on
// the host and copied: the same values on every device, and no kernel per factory.
template <typename F>
Tensor generate(const Shape& shape, DType dtype, Device device, const char* op, F f) {
  check_sizes(shape, op);
  if (!device.is_cpu()) return generate(shape, dtype, Device::cpu(), op, f).device_copy(device);
  Tensor t = Tensor::empty(shape, dtype, device);
  const int64_t n = t.numel();
  dispatch_all(dtype, [&](auto v) {
    using T = decltype(v);
    T* p = static_cast<T*>(t.raw_data());
#pragma omp parallel for if (n > 1 << 16)
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(i));
  });
  return t;
}
}  // namespace

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  return generate(shape, dtype, device, "full", [value](int64_t) { return value; });
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype(), like.device()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype(), like.device()); }

Tensor arange(double start, double end, double step, DType dtype) {
  MINIDL_CHECK(step != 0 && std::isfinite(start) && std::isfinite(end) && std::isfinite(step),
               "arange: expected finite start, end and a non-zero step, found start=", start,
               " end=", end, " step=", step);
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  return generate({n}, dtype, Device::cpu(), "arange", [=](int64_t i) { return start + step * i; });
}
Tensor arange(double end, DType dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor rand(const Shape& shape, DType dtype, Generator& gen) {
  check_sizes(shape, "rand");
  const uint64_t first = gen.advance(static_cast<uint64_t>(numel(shape)));
  return generate(shape, dtype, Device::cpu(), "rand", [&](int64_t i) { return gen.uniform_at(first + i); });
}

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  check_sizes(shape, "randn");
  const uint64_t first = gen.advance(2 * static_cast<uint64_t>(numel(shape)));
  return generate(shape, dtype, Device::cpu(), "randn",
                  [&](int64_t i) { return gen.normal_at(first + 2 * i); });
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  check_sizes(shape, "from_vector");
  MINIDL_CHECK(numel(shape) == static_cast<int64_t>(values.size()), "from_vector: shape ",
               to_string(shape), " holds ", numel(shape), " elements, found ", values.size(), " values");
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);

}  // namespace minidl
