// Dropout (PyTorch's F.dropout): in training, each element is kept with probability 1 − p and
// scaled by 1 / (1 − p), so that the expected output is the input; in eval, the identity.
// y = x · m with a constant mask m ∈ {0, 1/(1 − p)}, so the backward is mul's: dx = g · m.
#include <cmath>
#include <vector>

#include "../../core/factory.h"
#include "../functional.h"

namespace minidl {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  MINIDL_CHECK(std::isfinite(p) && p >= 0 && p <= 1, "dropout: expected a probability p in [0, 1], found ", p);
  if (!training || p == 0) return x;
  // The mask is drawn on the CPU from `gen` (the same numbers on every device) and moved to x's.
  const std::vector<double> u = rand(x.shape(), kFloat64, gen).to_vector<double>();
  std::vector<double> mask(u.size());
  const double keep = p < 1 ? 1 / (1 - p) : 0;  // p = 1 drops everything, as in PyTorch
  for (size_t i = 0; i < u.size(); ++i) mask[i] = u[i] < p ? 0.0 : keep;
  return x * from_vector(mask, x.shape()).to(x.dtype()).to(x.device());
}

}  // namespace minidl
