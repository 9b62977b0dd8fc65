#include "dtype.h"

#include "error.h"

namespace minidl {

size_t element_size(DType dtype) {
  return dispatch_all(dtype, [](auto v) { return sizeof(v); });
}

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, DType dtype) { return os << to_string(dtype); }

bool is_floating(DType dtype) { return dtype == kFloat32 || dtype == kFloat64; }

void detail::fail_not_floating(const char* op, DType found) {
  MINIDL_FAIL(op, ": expected dtype float32 or float64, found ", found);
}

}  // namespace minidl
