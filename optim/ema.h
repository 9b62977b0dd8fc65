// An exponential moving average of a model's weights (timm's ModelEmaV2, PyTorch's
// swa_utils.AveragedModel with an EMA): after each optimizer step,
//   ema ← decay·ema + (1 − decay)·w
// for every floating-point tensor of the state dict (parameters and BatchNorm's running
// statistics); integer buffers (num_batches_tracked) are copied. Evaluating the averaged weights
// often scores higher than the last ones.
#pragma once

#include "../layers/module.h"

namespace minidl {

class ExponentialMovingAverage {
 public:
  /// Starts from `model`'s current state; decay in [0, 1).
  ExponentialMovingAverage(const Module& model, double decay);
  /// One update from `model`'s current state (same names and shapes as at construction).
  void update(const Module& model);
  /// The averaged tensors, under the model's state-dict names.
  const NamedTensors& state_dict() const { return average_; }
  /// Replaces the average (a resumed run); the names and shapes must be the model's.
  void load_state_dict(const NamedTensors& state);
  double decay() const { return decay_; }

 private:
  double decay_;
  NamedTensors average_;
};

}  // namespace minidl
