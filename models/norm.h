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

/// A BatchNorm2d, GroupNorm(groups, channels) or Identity for `channels` channels. `where`
/// names the layer being built, for the error when channels % groups != 0.
std::shared_ptr<Module> make_norm(const NormSpec& spec, int64_t channels, const std::string& where);

}  // namespace minidl
