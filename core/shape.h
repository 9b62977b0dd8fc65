// Shape helpers: sizes of a row-major (contiguous) tensor, printed as [32, 64, 32, 32].
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace minidl {

using Shape = std::vector<int64_t>;

/// Product of the sizes; 1 for the empty shape (a scalar). An Error when the product does not fit
/// in int64 (a shape read from a file can claim anything).
int64_t numel(const Shape& shape);
/// a · b for sizes a, b >= 0, or an Error naming `what` when the product does not fit in int64.
int64_t checked_mul(int64_t a, int64_t b, const std::string& what);
/// "[32, 64, 32, 32]"; "[]" for a scalar.
std::string to_string(const Shape& shape);
/// Row-major strides in elements: {2, 3, 4} -> {12, 4, 1}.
Shape contiguous_strides(const Shape& shape);
/// NumPy broadcasting of two shapes; throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Maps a possibly negative dim (-1 = last) into [0, rank); throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t rank, const char* op);
/// Throws naming `op` unless every size is >= 0.
void check_sizes(const Shape& shape, const char* op);

}  // namespace minidl
