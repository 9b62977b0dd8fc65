// BatchNorm2d over [N, C, H, W] (torch.nn.BatchNorm2d): batch statistics in training, running
// statistics in eval. Parameters weight (γ, init 1) and bias (β, init 0); buffers running_mean,
// running_var and num_batches_tracked.
//
// virtual_batch_size b > 0 (Keras' name; "ghost batch norm"): in training the batch is cut into
// slices of b images, each normalized by its own statistics, and the running statistics move
// once per slice, in order — what BatchNorm does on each of N/b workers in data-parallel training
// without synchronized statistics (the GroupNorm paper's setting). The same as applying
// torch.nn.BatchNorm2d to each slice; a last slice of N mod b images is normalized by itself.
#pragma once

#include "module.h"

namespace minidl {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, int64_t virtual_batch_size = 0);
  Tensor forward(const Tensor& x) override;
  /// relu(bn(x) + residual) as one op (functional.h's NormEpilogue); models/norm.h's norm_relu.
  Tensor forward(const Tensor& x, const NormEpilogue& then);
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;

  const int64_t num_features;
  const double eps, momentum;
  int64_t virtual_batch_size = 0;  // 0: statistics over the whole batch
  Tensor weight, bias;                                    // undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined unless track_running_stats
};

}  // namespace minidl
