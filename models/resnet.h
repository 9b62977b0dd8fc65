// ResNets built from the layers, with PyTorch/torchvision parameter names so that checkpoints
// travel both ways:
//   resnet20/32/44/56/110   CIFAR ResNets (He et al. 2016): 3 stages of BasicBlocks, 16-32-64 wide
//   preresnet29/47/56/110/164  pre-activation bottleneck ResNets (MXNet's CIFAR example), 64-128-256
//   resnet18/34/50          torchvision's ImageNet ResNets (7x7 stem + max-pool, 4 stages)
// The normalization is chosen at construction: BatchNorm, GroupNorm or none.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../layers/module.h"
#include "norm.h"

namespace minidl {

struct ModelOptions {
  std::string arch = "resnet20";
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  NormKind norm = NormKind::BatchNorm;
  /// GroupNorm groups; 0 picks the default: 32 for resnet18/34/50 (as in the GN paper), 8 for
  /// the CIFAR-shaped models (their narrowest layers have 16 channels).
  int64_t groups = 0;
  /// γ = 0 in the last norm of every residual block, so each block starts as the identity.
  bool zero_init_residual = false;
  /// > 0: a Dropout(p) between the pooled features and fc (no parameters: checkpoints unchanged).
  double dropout = 0;
};

/// Builds the model `options.arch` names; throws listing the known names otherwise.
std::shared_ptr<Module> build_model(const ModelOptions& options);
/// Replaces a ResNet's classifier `fc` by a fresh Linear for `num_classes` (timm's reset_classifier):
/// the new head of a model fine-tuned on another task. The other weights are kept.
void reset_classifier(Module& resnet, int64_t num_classes);

/// The GroupNorm groups of `arch` when ModelOptions::groups is 0.
int64_t default_groups(const std::string& arch);
/// "resnet20", ..., "preresnet29", ..., "resnet18", ...
std::vector<std::string> model_names();

/// conv1 (3x3, stride s) → bn1 → relu → conv2 (3x3) → bn2, plus the shortcut, then relu. The
/// shortcut is `downsample` (1x1 conv, stride s → norm) when the shape changes, else x.
class BasicBlock : public Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t in_channels, int64_t planes, int64_t stride, const NormSpec& norm, const std::string& where);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  static const char* last_norm() { return "bn2"; }
};

/// torchvision's Bottleneck: 1x1 (planes) → 3x3 (planes, stride s) → 1x1 (4·planes), each
/// followed by its norm, relu between; shortcut as in BasicBlock.
class Bottleneck : public Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in_channels, int64_t planes, int64_t stride, const NormSpec& norm, const std::string& where);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }
  static const char* last_norm() { return "bn3"; }
};

/// The pre-activation bottleneck unit of MXNet's ResNet: bn1 → relu → conv1 (1x1) → bn2 → relu
/// → conv2 (3x3, stride s) → bn3 → relu → conv3 (1x1, 4× wider), plus the input itself or,
/// when the shape changes, `shortcut` (1x1 conv, stride s) of relu(bn1(x)).
class PreActBottleneck : public Module {
 public:
  static constexpr int64_t kExpansion = 4;
  PreActBottleneck(int64_t in_channels, int64_t width, int64_t stride, const NormSpec& norm, const std::string& where);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PreActBottleneck"; }
  static const char* last_norm() { return "bn3"; }
};

/// CIFAR and ImageNet ResNets: stem, stages layer1.., global average pool, fc.
class ResNet : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNet"; }
  std::string extra_repr() const override { return arch_; }
  const std::string& arch() const { return arch_; }

 private:
  friend std::shared_ptr<Module> build_model(const ModelOptions& options);
  explicit ResNet(std::string arch) : arch_(std::move(arch)) {}
  std::string arch_;
  bool imagenet_stem_ = false;  // 7x7 stride-2 conv and 3x3 max-pool, as in torchvision
  bool pre_activation_ = false;  // bn_final → relu before the pool (PreResNet)
  int64_t stages_ = 0;
  bool dropout_ = false;  // a "dropout" child before fc
};

}  // namespace minidl
