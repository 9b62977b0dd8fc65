// Reductions and their gradients: the output gradient is broadcast back over the reduced
// dims (sum), divided by the count (mean), or routed to the maximal elements (max).
#include "../../core/kernels.h"
#include "../ops.h"

namespace minidl {
namespace {

using kernels::BinaryOp;

// The output's shape with the reduced dims kept as size 1, for broadcasting back.
Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& dims) {
  Shape kept = in;
  if (dims.empty()) kept.assign(in.size(), 1);
  for (int64_t d : dims) kept[wrap_dim(d, static_cast<int64_t>(in.size()), "reduce")] = 1;
  return kept;
}

int64_t reduced_count(const Shape& in, const Shape& kept) { return numel(in) / std::max<int64_t>(numel(kept), 1); }

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out = kernels::sum(x, dims, keepdim);
  return record("SumBackward", out, {x}, [shape = x.shape(), kept = keepdim_shape(x.shape(), dims)](
                                              const Tensor& g, const Needs&) -> Grads {
    return {kernels::broadcast_to(kernels::reshape(g, kept), shape)};
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out = kernels::mean(x, dims, keepdim);
  const Shape kept = keepdim_shape(x.shape(), dims);
  const int64_t count = reduced_count(x.shape(), kept);
  return record("MeanBackward", out, {x}, [shape = x.shape(), kept, count](const Tensor& g, const Needs&) -> Grads {
    return {kernels::broadcast_to(kernels::scale(kernels::reshape(g, kept), 1.0 / static_cast<double>(count)), shape)};
  });
}

// dL/dx = g · [x == max] / (number of elements equal to the max); a NaN max goes to the NaN elements.
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out = kernels::max(x, dims, keepdim);
  const Shape kept = keepdim_shape(x.shape(), dims);
  return record("MaxBackward", out, {x},
                [x = x.detach(), y = kernels::reshape(out, kept), dims](const Tensor& g, const Needs&) -> Grads {
                  const Tensor mask = kernels::binary(BinaryOp::IsMax, x, y);
                  const Tensor ties = kernels::sum(mask, dims, /*keepdim=*/true);
                  const Tensor share = kernels::binary(BinaryOp::Div, kernels::reshape(g, y.shape()), ties);
                  return {kernels::binary(BinaryOp::Mul, mask, share)};
                });
}

Tensor sum(const Tensor& x) { return sum(x, {}, false); }
Tensor mean(const Tensor& x) { return mean(x, {}, false); }
Tensor max(const Tensor& x) { return max(x, {}, false); }

}  // namespace minidl
