// The normalization a model is built with — BatchNorm, GroupNorm or none — chosen by name.
#pragma once

#include <memory>
#include <string>

#include "../layers/module.h"

namespace minidl {

enum class NormKind { BatchNorm, GroupNorm, None };

struct NormSpec {
  NormKind kind = NormKind::BatchNorm;
  int64_t groups = 32;  // GroupNorm only
};

/// "bn", "gn" or "none"; throws naming the accepted values otherwise.
NormKind parse_norm(const std::string& name);
std::string to_string(NormKind kind);

/// Sets virtual_batch_size (see BatchNorm2d) on every BatchNorm2d of `model`: b images per set of
/// statistics in training, as on workers of b images each; 0 restores whole-batch statistics.
/// Returns how many layers it set.
int set_bn_virtual_batch_size(Module& model, int64_t b);

/// A BatchNorm2d, GroupNorm(groups, channels) or Identity for `channels` channels. `where`
/// names the layer being built, for the error when channels % groups != 0.
std::shared_ptr<Module> make_norm(const NormSpec& spec, int64_t channels, const std::string& where);

/// relu(norm(x) + residual), residual optional: what a ResNet block does after a normalization.
/// Where `norm` is exactly a BatchNorm2d or GroupNorm without forward hooks, one op does it in
/// the norm's own pass over memory (and its backward in the norm's); otherwise — Identity, a
/// subclass with its own forward (SyncBatchNorm), or a hook that must see the norm's own output
/// (calibration, the layer-by-layer gradient check) — op by op.
/// The values are the same either way.
Tensor norm_relu(Module& norm, const Tensor& x, const Tensor& residual = Tensor());

/// relu(norm(conv(x)) + residual): norm_relu after a convolution. In inference — gradients not
/// recorded (NoGradGuard), `conv` exactly a Conv2d without bias, neither with forward hooks — the
/// convolution applies the norm itself: exactly a BatchNorm2d in eval mode with running statistics
/// in its output pass (functional.h's conv2d_batch_norm_eval), exactly a GroupNorm on each sample
/// as soon as it is written (conv2d_group_norm); otherwise norm_relu(norm, conv(x), residual). The
/// values are the same either way.
Tensor conv_norm_relu(Module& conv, Module& norm, const Tensor& x, const Tensor& residual = Tensor());

/// conv(x) + residual, as a pre-activation block ends. Where `conv` is exactly a Conv2d without
/// forward hooks, one op (functional.h's conv2d_add) adds the residual in the convolution's own
/// output pass, forward; otherwise op by op. The values and gradients are the same either way.
Tensor conv_add(Module& conv, const Tensor& x, const Tensor& residual);

}  // namespace minidl
