// Reductions (sum, mean, max over any dims) and sum_to, the gradient of a broadcast.
#pragma once

#include <vector>

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// Sum over `dims` (all dims when empty); keepdim leaves them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Mean over `dims` (all dims when empty).
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Maximum over `dims` (all dims when empty).
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
/// Inverse of broadcast_to: sums x down to `shape`.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- kernel: `reduced` marks x's reduced dims; out has x's rank with size 1 on them (keepdim
// ---- layout); x is not empty ----
inline KernelTable<void(Reduction how, const Tensor& x, const std::vector<bool>& reduced, Tensor& out)>
    reduce_kernel{"reduce"};

}  // namespace minidl::kernels
