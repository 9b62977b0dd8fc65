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

}  // namespace minidl
