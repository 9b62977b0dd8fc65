// BatchNorm2d over [N, C, H, W] (torch.nn.BatchNorm2d): batch statistics in training, running
// statistics in eval. Parameters weight (γ, init 1) and bias (β, init 0); buffers running_mean,
// running_var and num_batches_tracked.
#pragma once

#include "module.h"

namespace minidl {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;

  const int64_t num_features;
  const double eps, momentum;
  Tensor weight, bias;                                    // undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats
};

}  // namespace minidl
