#include "resnet.h"

#include "../core/factory.h"
#include "../core/kernels.h"
#include "../layers/basic.h"
#include "../layers/conv2d.h"
#include "../layers/init.h"
#include "../layers/linear.h"
#include "../layers/pooling.h"

namespace minidl {
namespace {

// A bias-free convolution with "same" padding, initialized as torchvision does.
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  auto c = std::make_shared<Conv2d>(in, out, kernel, stride, kernel / 2, /*bias=*/false);
  init::kaiming_normal_(c->weight, out * kernel * kernel);
  return c;
}

// 1x1 conv (stride s) → norm: the projection shortcut of BasicBlock and Bottleneck.
std::shared_ptr<Sequential> downsample(int64_t in, int64_t out, int64_t stride, const NormSpec& norm,
                                       const std::string& where) {
  return std::make_shared<Sequential>(
      std::vector<std::shared_ptr<Module>>{conv(in, out, 1, stride), make_norm(norm, out, where + ".downsample.1")});
}

bool has_child(const Module& m, const std::string& name) {
  for (const auto& [n, c] : m.named_children())
    if (n == name) return true;
  return false;
}

// Stage `name` of `blocks` blocks; the first has stride `stride`. Updates `in` to the stage's
// output width.
template <typename Block>
std::shared_ptr<Sequential> stage(int64_t& in, int64_t planes, int64_t blocks, int64_t stride, const NormSpec& norm,
                                  const std::string& name) {
  auto s = std::make_shared<Sequential>();
  for (int64_t b = 0; b < blocks; ++b) {
    s->push_back(std::make_shared<Block>(in, planes, b == 0 ? stride : 1, norm, name + "." + std::to_string(b)));
    in = planes * Block::kExpansion;
  }
  return s;
}

void zero_weight(Module& norm) {
  for (auto& [name, p] : norm.named_parameters(false))
    if (name == "weight") kernels::copy_(p, zeros_like(p));
}

struct Arch {
  enum Family { Cifar, PreAct, ImageNetBasic, ImageNetBottleneck } family;
  std::vector<int64_t> blocks;  // per stage
};

Arch arch_of(const std::string& name) {
  auto depth_of = [&](const char* prefix) -> int64_t {
    const std::string p = prefix;
    if (name.rfind(p, 0) != 0) return -1;
    const std::string digits = name.substr(p.size());
    if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoll(digits);
  };
  if (name == "resnet18") return {Arch::ImageNetBasic, {2, 2, 2, 2}};
  if (name == "resnet34") return {Arch::ImageNetBasic, {3, 4, 6, 3}};
  if (name == "resnet50") return {Arch::ImageNetBottleneck, {3, 4, 6, 3}};
  const int64_t cifar = depth_of("resnet"), pre = depth_of("preresnet");
  if (cifar >= 8 && (cifar - 2) % 6 == 0) return {Arch::Cifar, std::vector<int64_t>(3, (cifar - 2) / 6)};
  if (pre >= 11 && (pre - 2) % 9 == 0) return {Arch::PreAct, std::vector<int64_t>(3, (pre - 2) / 9)};
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  MINIDL_FAIL("model: unknown architecture \"", name, "\" (known: ", known,
              "; any resnet<6n+2> or preresnet<9n+2> also works)");
}

}  // namespace

std::vector<std::string> model_names() {
  return {"resnet20",    "resnet32",    "resnet44",    "resnet56",     "resnet110",    "preresnet29", "preresnet47",
          "preresnet56", "preresnet110", "preresnet164", "resnet18", "resnet34", "resnet50"};
}

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride, const NormSpec& norm, const std::string& where) {
  register_module("conv1", conv(in, planes, 3, stride));
  register_module("bn1", make_norm(norm, planes, where + ".bn1"));
  register_module("conv2", conv(planes, planes, 3, 1));
  register_module("bn2", make_norm(norm, planes, where + ".bn2"));
  if (stride != 1 || in != planes) register_module("downsample", downsample(in, planes, stride, norm, where));
}

// relu(bn(...)) and relu(bn(...) + shortcut) are one fused op each (models/norm.h's norm_relu), in
// inference with the convolution before them too (conv_norm_relu).
Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor out = conv_norm_relu(child("conv1"), child("bn1"), x);
  const Tensor shortcut = has_child(*this, "downsample") ? child("downsample")(x) : x;
  return conv_norm_relu(child("conv2"), child("bn2"), out, shortcut);
}

Bottleneck::Bottleneck(int64_t in, int64_t planes, int64_t stride, const NormSpec& norm, const std::string& where) {
  register_module("conv1", conv(in, planes, 1, 1));
  register_module("bn1", make_norm(norm, planes, where + ".bn1"));
  register_module("conv2", conv(planes, planes, 3, stride));
  register_module("bn2", make_norm(norm, planes, where + ".bn2"));
  register_module("conv3", conv(planes, planes * kExpansion, 1, 1));
  register_module("bn3", make_norm(norm, planes * kExpansion, where + ".bn3"));
  if (stride != 1 || in != planes * kExpansion)
    register_module("downsample", downsample(in, planes * kExpansion, stride, norm, where));
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = conv_norm_relu(child("conv1"), child("bn1"), x);
  out = conv_norm_relu(child("conv2"), child("bn2"), out);
  const Tensor shortcut = has_child(*this, "downsample") ? child("downsample")(x) : x;
  return conv_norm_relu(child("conv3"), child("bn3"), out, shortcut);
}

PreActBottleneck::PreActBottleneck(int64_t in, int64_t width, int64_t stride, const NormSpec& norm,
                                   const std::string& where) {
  register_module("bn1", make_norm(norm, in, where + ".bn1"));
  register_module("conv1", conv(in, width, 1, 1));
  register_module("bn2", make_norm(norm, width, where + ".bn2"));
  register_module("conv2", conv(width, width, 3, stride));
  register_module("bn3", make_norm(norm, width, where + ".bn3"));
  register_module("conv3", conv(width, width * kExpansion, 1, 1));
  if (stride != 1 || in != width * kExpansion) register_module("shortcut", conv(in, width * kExpansion, 1, stride));
}

// bn2 and bn3 follow conv1 and conv2 directly: conv_norm_relu applies them in the convolutions'
// output pass in inference (~11 % of preresnet29's inference time went to standalone norm passes),
// and conv_add adds the shortcut in conv3's (a separate add: ~8 %). bn1 normalizes the block's
// input, which the identity shortcut also needs as it is.
Tensor PreActBottleneck::forward(const Tensor& x) {
  const Tensor act1 = norm_relu(child("bn1"), x);
  const Tensor shortcut = has_child(*this, "shortcut") ? child("shortcut")(act1) : x;
  Tensor out = conv_norm_relu(child("conv1"), child("bn2"), act1);
  out = conv_norm_relu(child("conv2"), child("bn3"), out);
  return conv_add(child("conv3"), out, shortcut);
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor out = pre_activation_ ? child("conv1")(x) : conv_norm_relu(child("conv1"), child("bn1"), x);
  if (imagenet_stem_) out = child("maxpool")(out);
  for (int64_t s = 1; s <= stages_; ++s) out = child("layer" + std::to_string(s))(out);
  if (pre_activation_) out = norm_relu(child("bn_final"), out);
  out = flatten(child("avgpool")(out));
  return child("fc")(dropout_ ? child("dropout")(out) : out);
}

void reset_classifier(Module& resnet, int64_t num_classes) {
  MINIDL_CHECK(num_classes > 0, "reset_classifier: expected num_classes > 0, found ", num_classes);
  auto* fc = dynamic_cast<Linear*>(&resnet.child("fc"));
  MINIDL_CHECK(fc != nullptr, "reset_classifier: expected the model's fc to be a Linear layer");
  const Tensor& w = fc->weight;
  auto head = std::make_shared<Linear>(w.size(1), num_classes);
  head->to(w.dtype());
  head->to(w.device());
  resnet.replace_module("fc", head);
}

int64_t default_groups(const std::string& name) {
  const Arch arch = arch_of(name);
  return arch.family == Arch::ImageNetBasic || arch.family == Arch::ImageNetBottleneck ? 32 : 8;
}

std::shared_ptr<Module> build_model(const ModelOptions& o) {
  const Arch arch = arch_of(o.arch);
  MINIDL_CHECK(o.in_channels > 0 && o.num_classes > 0, "model: expected in_channels > 0 and num_classes > 0, found ",
               o.in_channels, " and ", o.num_classes);
  const bool imagenet = arch.family == Arch::ImageNetBasic || arch.family == Arch::ImageNetBottleneck;
  const NormSpec norm{o.norm, o.groups > 0 ? o.groups : default_groups(o.arch)};
  std::shared_ptr<ResNet> net(new ResNet(o.arch));
  net->imagenet_stem_ = imagenet;
  net->pre_activation_ = arch.family == Arch::PreAct;
  net->stages_ = static_cast<int64_t>(arch.blocks.size());

  const std::vector<int64_t> widths = imagenet ? std::vector<int64_t>{64, 128, 256, 512} : std::vector<int64_t>{16, 32, 64};
  int64_t in = widths[0];
  net->register_module("conv1", conv(o.in_channels, in, imagenet ? 7 : 3, imagenet ? 2 : 1));
  if (!net->pre_activation_) net->register_module("bn1", make_norm(norm, in, "bn1"));
  if (imagenet) net->register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  for (size_t s = 0; s < arch.blocks.size(); ++s) {
    const std::string name = "layer" + std::to_string(s + 1);
    const int64_t stride = s == 0 ? 1 : 2;
    switch (arch.family) {
      case Arch::Cifar:
      case Arch::ImageNetBasic:
        net->register_module(name, stage<BasicBlock>(in, widths[s], arch.blocks[s], stride, norm, name));
        break;
      case Arch::ImageNetBottleneck:
        net->register_module(name, stage<Bottleneck>(in, widths[s], arch.blocks[s], stride, norm, name));
        break;
      case Arch::PreAct:
        net->register_module(name, stage<PreActBottleneck>(in, widths[s], arch.blocks[s], stride, norm, name));
        break;
    }
  }
  if (net->pre_activation_) net->register_module("bn_final", make_norm(norm, in, "bn_final"));
  net->register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
  if (o.dropout > 0) {
    net->register_module("dropout", std::make_shared<Dropout>(o.dropout));
    net->dropout_ = true;
  }
  net->register_module("fc", std::make_shared<Linear>(in, o.num_classes));

  if (o.zero_init_residual) {
    for (auto& [name, m] : net->named_modules()) {
      const std::string type = m->type_name();
      if (type == "BasicBlock") zero_weight(m->child(BasicBlock::last_norm()));
      if (type == "Bottleneck") zero_weight(m->child(Bottleneck::last_norm()));
      if (type == "PreActBottleneck") zero_weight(m->child(PreActBottleneck::last_norm()));
    }
  }
  return net;
}

}  // namespace minidl
