#include "group_norm.h"

#include <sstream>

#include "../core/factory.h"

namespace minidl {

GroupNorm::GroupNorm(int64_t num_groups_, int64_t num_channels_, double eps_, bool affine)
    : num_groups(num_groups_), num_channels(num_channels_), eps(eps_) {
  MINIDL_CHECK(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0, "GroupNorm: ", num_channels,
               " channels cannot be split into ", num_groups, " groups (num_channels % num_groups must be 0)");
  if (affine) {
    weight = register_parameter("weight", ones({num_channels}));
    bias = register_parameter("bias", zeros({num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) { return forward(x, {}); }

Tensor GroupNorm::forward(const Tensor& x, const NormEpilogue& then) {
  MINIDL_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == num_channels, "expected an input [N, ", num_channels,
               ", *], found ", x.defined() ? to_string(x.shape()) : "undefined");
  return group_norm(x, num_groups, weight, bias, eps, then);
}

std::string GroupNorm::extra_repr() const {
  std::ostringstream os;
  os << num_groups << ", " << num_channels << ", eps=" << eps << ", affine=" << (weight.defined() ? "True" : "False");
  return os.str();
}

}  // namespace minidl
