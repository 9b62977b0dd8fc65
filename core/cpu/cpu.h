// The CPU kernels behind core/kernels.h. Arguments arrive checked: same dtype, same device,
// shapes already validated and `out` allocated with the result's shape.
#pragma once

#include <vector>

#include "../kernels.h"

namespace minidl::cpu {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

void binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
void unary(kernels::UnaryOp op, const Tensor& x, Tensor& out);
void pow(const Tensor& x, double exponent, Tensor& out);
void broadcast_to(const Tensor& x, Tensor& out);
void cast(const Tensor& x, Tensor& out);

enum class Reduction { Sum, Max };
/// out has x's rank, with size 1 on every reduced dim (keepdim layout).
void reduce(Reduction how, const Tensor& x, const std::vector<bool>& reduced, Tensor& out);

void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out);
void transpose(const Tensor& x, Tensor& out);

}  // namespace minidl::cpu
