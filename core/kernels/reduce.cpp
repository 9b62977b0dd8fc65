// The reductions' dispatcher.
#include "reduce.h"

#include "../factory.h"
#include "checks.h"
#include "elementwise.h"

namespace minidl::kernels {


namespace {

// Normalizes dims (negative = from the end) to a mask over x's dims; empty = all dims.
std::vector<bool> reduced_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> mask(x.dim(), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, x.dim(), op);
    MINIDL_CHECK(!mask[w], op, ": dim ", d, " appears more than once in the reduced dims");
    mask[w] = true;
  }
  return mask;
}

Tensor reduce(Reduction how, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  checks::floating(x, op);
  const std::vector<bool> mask = reduced_mask(x, dims, op);
  Shape kept = x.shape(), squeezed;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (mask[d]) {
      MINIDL_CHECK(how == Reduction::Sum || x.shape()[d] > 0, op, ": cannot reduce over dim ", d,
                   " of size 0 in shape ", to_string(x.shape()));
      kept[d] = 1;
    } else {
      squeezed.push_back(x.shape()[d]);
    }
  }
  // A sum over no values is 0 (max over none was refused above).
  Tensor out = checks::output(kept, x, x.numel() == 0);
  if (x.numel() > 0) reduce_kernel.at(x.device())(how, x, mask, out);
  return keepdim ? out : reshape(out, squeezed);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(Reduction::Sum, x, dims, keepdim, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Tensor total = reduce(Reduction::Sum, x, dims, keepdim, "mean");
  const int64_t count = total.numel() > 0 ? x.numel() / total.numel() : 0;
  return scale(total, 1.0 / static_cast<double>(count));
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(Reduction::Max, x, dims, keepdim, "max");
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  checks::floating(x, "sum_to");
  MINIDL_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: shape ",
               to_string(x.shape()), " is not a broadcast of ", to_string(shape));
  if (x.shape() == shape) return x;
  // Sum the leading dims that `shape` lacks and the dims where it has size 1.
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  return reshape(sum(x, dims, /*keepdim=*/true), shape);
}

}  // namespace minidl::kernels
