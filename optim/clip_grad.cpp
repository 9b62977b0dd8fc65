#include "clip_grad.h"

#include <cmath>

#include "../autograd/ops.h"
#include "../autograd/variable.h"

namespace minidl {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  MINIDL_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm_: expected max_norm > 0, found ", max_norm);
  NoGradGuard no_grad;
  double squares = 0;  // one sum per gradient, accumulated in double on the host
  for (const Tensor& p : params)
    if (p.grad().defined()) squares += sum(pow(p.grad().to(kFloat64), 2.0)).item<double>();
  const double norm = std::sqrt(squares);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.set_data(g * scale);
  }
  return norm;
}

}  // namespace minidl
