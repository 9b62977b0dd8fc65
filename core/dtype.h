// DType: the element types a Tensor can hold. Floats are what ops compute in; the integer
// types exist for labels, indices and .npy files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace minidl {

enum class DType { Float32, Float64, Int32, Int64 };

constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt64 = DType::Int64;

/// Bytes per element: element_size(kFloat64) == 8.
size_t element_size(DType dtype);
/// "float32", "float64", "int32", "int64" (PyTorch's names, without the "torch." prefix).
std::string to_string(DType dtype);
std::ostream& operator<<(std::ostream& os, DType dtype);
bool is_floating(DType dtype);

/// The DType of a C++ element type: dtype_of<double>() == kFloat64.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return kFloat32; }
template <> constexpr DType dtype_of<double>() { return kFloat64; }
template <> constexpr DType dtype_of<int32_t>() { return kInt32; }
template <> constexpr DType dtype_of<int64_t>() { return kInt64; }

/// Calls fn(T{}) with T the C++ type of a floating dtype, or throws naming `op`.
/// Kernels use it to write one template for float and double.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn);

/// Same, for every dtype (copies, casts, printing).
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int32: return fn(int32_t{});
    case DType::Int64: return fn(int64_t{});
  }
  return fn(float{});  // unreachable: every enumerator is handled above
}

namespace detail {
[[noreturn]] void fail_not_floating(const char* op, DType found);
}

template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
  if (dtype == DType::Float64) return fn(double{});
  if (dtype != DType::Float32) detail::fail_not_floating(op, dtype);
  return fn(float{});
}

}  // namespace minidl
