// Linear: y = x·Wᵀ + b over [*, in_features] (torch.nn.Linear).
#pragma once

#include "module.h"

namespace minidl {

class Linear : public Module {
 public:
  /// weight [out, in] and bias [out] initialized as in PyTorch (kaiming-uniform).
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  const int64_t in_features, out_features;
  Tensor weight, bias;
};

}  // namespace minidl
