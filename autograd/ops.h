// The differentiable ops: each runs a forward kernel from core/kernels.h and records a
// node whose backward computes the input gradients. Float32 and float64, on any device
// that has the kernels.
#pragma once

#include <vector>

#include "variable.h"

namespace minidl {

// ---- elementwise, with NumPy broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
/// max(x, 0); the gradient at exactly 0 is 0, as in PyTorch.
Tensor relu(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// x ^ exponent, elementwise, for a scalar exponent.
Tensor pow(const Tensor& x, double exponent);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
/// With a number: the number becomes a scalar tensor of the tensor's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);

// ---- reductions: over `dims` (negative counts from the end), all dims when none given ----
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Maximum (torch.amax); where several elements tie, the gradient is shared equally. Where the max
/// is NaN it goes to the NaN elements, as torch.max does (torch.amax gives that slice NaN gradients).
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

// ---- pieces along dim 0 (the batch) ----
/// Rows [start, start + length) of dim 0 (torch.narrow(x, 0, start, length)), a view; only dim 0.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// The tensors joined along dim 0 (torch.cat(tensors, 0)); they agree in every other dim.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);

// ---- matrices ----
/// [M, K] · [K, N] -> [M, N] (2-D only; our own GEMM on the CPU, core/cpu/gemm.cpp; cuBLAS on a GPU).
Tensor matmul(const Tensor& a, const Tensor& b);
/// [M, N] -> [N, M] (a copy, since minidl tensors are contiguous).
Tensor transpose(const Tensor& x);

}  // namespace minidl
