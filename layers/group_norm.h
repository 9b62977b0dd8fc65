// GroupNorm (Wu & He, 2018) over [N, C, *] (torch.nn.GroupNorm): each sample's channels are
// split into num_groups groups, and each group is normalized by its own mean and variance,
// so the result does not depend on the batch size. weight (γ, init 1) and bias (β, init 0)
// are per channel.
#pragma once

#include "module.h"

namespace minidl {

class GroupNorm : public Module {
 public:
  /// Throws unless num_channels is divisible by num_groups.
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  /// relu(gn(x) + residual) as one op (functional.h's NormEpilogue); models/norm.h's norm_relu.
  Tensor forward(const Tensor& x, const NormEpilogue& then);
  std::string type_name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;

  const int64_t num_groups, num_channels;
  const double eps;
  Tensor weight, bias;  // undefined unless affine
};

}  // namespace minidl
