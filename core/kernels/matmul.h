// Matrix product and the 2-D transpose.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// out[M, N] = op(a) · op(b), op = transpose when the flag is set; a, b 2-D.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// out[j, i] = x[i, j], a contiguous copy.
Tensor transpose(const Tensor& x);

// ---- kernels: out allocated [M, N] (matmul; not empty, inner size K ≥ 1) or [cols, rows] ----
inline KernelTable<void(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out)>
    matmul_kernel{"matmul"};
inline KernelTable<void(const Tensor& x, Tensor& out)> transpose_kernel{"transpose"};

}  // namespace minidl::kernels
