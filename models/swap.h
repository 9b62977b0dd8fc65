// Turning a BatchNorm model into a GroupNorm model: every BatchNorm2d is replaced, under the
// same name, by a GroupNorm whose γ and β are either copied or calibrated.
#pragma once

#include <string>
#include <vector>

#include "../layers/module.h"

namespace minidl {

enum class SwapMode {
  Copy,       // GN's γ, β = BN's γ, β
  Calibrate,  // GN's γ, β chosen so that its per-channel output mean and std equal BN's
};

/// "copy" or "calibrate".
SwapMode parse_swap_mode(const std::string& name);

/// Replaces every BatchNorm2d in `model` by GroupNorm(groups, C) of the same dotted name; BN's
/// running statistics are dropped. With Calibrate, the BN layers are visited in forward order
/// and, with the model in eval mode and the earlier layers already swapped, each GN's
///   γ[c] = std_BN[c] / std_GN[c],  β[c] = mean_BN[c] − γ[c]·mean_GN[c]
/// where mean/std are per-channel statistics over the calibration batches of BN's output and of
/// GN's normalized output (γ = 1, β = 0) on the same input. Returns the number of layers swapped;
/// the model's train/eval mode is kept. Throws naming the layer when C % groups != 0.
int swap_bn_to_gn(Module& model, int64_t groups, SwapMode mode, const std::vector<Tensor>& calibration_batches = {});

}  // namespace minidl
