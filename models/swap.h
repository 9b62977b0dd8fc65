// Turning a BatchNorm model into a GroupNorm model: every BatchNorm2d is replaced, under the
// same name, by a GroupNorm whose γ and β are copied or fitted on calibration images.
#pragma once

#include <string>
#include <vector>

#include "../layers/module.h"

namespace minidl {

enum class SwapMode {
  Copy,          // GN's γ, β = BN's γ, β
  Moments,       // GN's per-channel output mean and std = BN's, on the input the swapped model gives
  LeastSquares,  // GN's per-channel output = the BN model's, in the least-squares sense
  Distill,       // LeastSquares, then all γ, β fitted together to the BN model's output (SwapFit)
};

/// The fit of Distill: `steps` Adam steps at `lr`, one calibration batch a step, in turn.
struct SwapFit {
  int64_t steps = 100;
  double lr = 0.01;
};

/// "copy", "moments", "lstsq" or "distill".
SwapMode parse_swap_mode(const std::string& name);
/// The name parse_swap_mode reads.
std::string to_string(SwapMode mode);

/// Replaces every BatchNorm2d in `model` by GroupNorm(groups, C) of the same dotted name; BN's
/// running statistics are dropped. Moments and LeastSquares visit the BN layers in forward order,
/// with the model in eval mode and the earlier layers already swapped, and fit each GN's γ, β per
/// channel c on the calibration batches. With z = GN's normalized output (γ = 1, β = 0) on the
/// input the layer now receives, and y a target:
///   Moments:       y = BN's output on that input;  γ = std(y)/std(z),  β = mean(y) − γ·mean(z)
///   LeastSquares:  y = the original BN model's output at this layer, on the same images
///                  (the teacher: earlier swaps' errors are fitted away too);
///                  γ, β = argmin Σ(γ·z + β − y)² = cov(z, y)/var(z),  mean(y) − γ·mean(z)
/// (sums over images and positions). LeastSquares runs two forward passes per batch and layer
/// (the original model's and the swapped one's). Each layer's fit is the best for it alone;
/// Distill then fits every GN's γ, β together, with all other parameters fixed, by minimizing
///   mean over the batches of mean((swapped model(x) − original model(x))²)
/// (the model's output: logits for a classifier) with `fit.steps` Adam steps at `fit.lr`, from
/// the LeastSquares values. Returns the number of layers swapped; the model's train/eval mode is
/// kept. Throws naming the layer when C % groups != 0; after a throw the model is as it was.
int swap_bn_to_gn(Module& model, int64_t groups, SwapMode mode, const std::vector<Tensor>& calibration_batches = {},
                  const SwapFit& fit = {});

}  // namespace minidl
