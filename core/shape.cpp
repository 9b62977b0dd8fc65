#include "shape.h"

#include <algorithm>

#include "error.h"

namespace minidl {

int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t product = 0;
  MINIDL_CHECK(!__builtin_mul_overflow(a, b, &product), what, ": ", a, " × ", b, " does not fit in 64 bits");
  return product;
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    if (__builtin_mul_overflow(n, s, &n)) MINIDL_FAIL("numel: shape ", to_string(shape), " has more than 2^63 elements");
  return n;
}

std::string to_string(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right: missing leading dims count as 1.
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    MINIDL_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", to_string(a), " and ",
                 to_string(b), " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t wrap_dim(int64_t dim, int64_t rank, const char* op) {
  MINIDL_CHECK(dim >= -rank && dim < rank, op, ": dim ", dim, " is out of range for a tensor of rank ",
               rank, " (expected ", -rank, " <= dim < ", rank, ")");
  return dim < 0 ? dim + rank : dim;
}

void check_sizes(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    MINIDL_CHECK(s >= 0, op, ": sizes must be >= 0, found ", to_string(shape));
}

}  // namespace minidl
