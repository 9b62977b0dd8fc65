#include "norm.h"

#include <typeinfo>

#include "../layers/basic.h"
#include "../layers/batch_norm.h"
#include "../layers/conv2d.h"
#include "../layers/group_norm.h"

namespace minidl {

NormKind parse_norm(const std::string& name) {
  if (name == "bn") return NormKind::BatchNorm;
  if (name == "gn") return NormKind::GroupNorm;
  if (name == "none") return NormKind::None;
  MINIDL_FAIL("norm: expected \"bn\", \"gn\" or \"none\", found \"", name, "\"");
}

std::string to_string(NormKind kind) {
  switch (kind) {
    case NormKind::BatchNorm: return "bn";
    case NormKind::GroupNorm: return "gn";
    case NormKind::None: return "none";
  }
  return "?";
}

int set_bn_virtual_batch_size(Module& model, int64_t b) {
  MINIDL_CHECK(b >= 0, "set_bn_virtual_batch_size: expected images per set >= 0, found ", b);
  int count = 0;
  for (auto& [name, m] : model.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) {
      bn->virtual_batch_size = b;
      ++count;
    }
  return count;
}

std::shared_ptr<Module> make_norm(const NormSpec& spec, int64_t channels, const std::string& where) {
  switch (spec.kind) {
    case NormKind::BatchNorm: return std::make_shared<BatchNorm2d>(channels);
    case NormKind::None: return std::make_shared<Identity>();
    case NormKind::GroupNorm:
      MINIDL_CHECK(spec.groups > 0 && channels % spec.groups == 0, where, ": GroupNorm cannot split ", channels,
                   " channels into ", spec.groups, " groups (choose groups dividing every channel count, e.g. 8)");
      return std::make_shared<GroupNorm>(spec.groups, channels);
  }
  return nullptr;
}

Tensor norm_relu(Module& norm, const Tensor& x, const Tensor& residual) {
  const NormEpilogue then{residual, /*relu=*/true};
  // The exact types: a subclass that overrides forward (dist's SyncBatchNorm, whose statistics
  // span the ranks) must run its own forward, so it goes op by op.
  if (!norm.has_forward_hooks()) {
    if (typeid(norm) == typeid(BatchNorm2d))
      return norm.named_call([&] { return static_cast<BatchNorm2d&>(norm).forward(x, then); });
    if (typeid(norm) == typeid(GroupNorm))
      return norm.named_call([&] { return static_cast<GroupNorm&>(norm).forward(x, then); });
  }
  const Tensor y = norm(x);
  return relu(residual.defined() ? y + residual : y);
}

Tensor conv_norm_relu(Module& conv, Module& norm, const Tensor& x, const Tensor& residual) {
  const bool plain = typeid(conv) == typeid(Conv2d) && !is_grad_enabled() && !conv.has_forward_hooks() &&
                     !norm.has_forward_hooks() && !static_cast<const Conv2d&>(conv).bias.defined();
  if (plain && typeid(norm) == typeid(BatchNorm2d) && !norm.is_training()) {
    const auto& c = static_cast<const Conv2d&>(conv);
    const auto& bn = static_cast<const BatchNorm2d&>(norm);
    if (bn.running_mean.defined())
      return conv.named_call([&] {
        return conv2d_batch_norm_eval(x, c.weight, c.stride, c.padding, bn.running_mean, bn.running_var, bn.weight,
                                      bn.bias, bn.eps, {residual, /*relu=*/true});
      });
  }
  if (plain && typeid(norm) == typeid(GroupNorm)) {  // the same in training mode: GroupNorm has no running state
    const auto& c = static_cast<const Conv2d&>(conv);
    const auto& gn = static_cast<const GroupNorm&>(norm);
    return conv.named_call([&] {
      return conv2d_group_norm(x, c.weight, c.stride, c.padding, gn.num_groups, gn.weight, gn.bias, gn.eps,
                               {residual, /*relu=*/true});
    });
  }
  return norm_relu(norm, conv(x), residual);
}

Tensor conv_add(Module& conv, const Tensor& x, const Tensor& residual) {
  if (typeid(conv) == typeid(Conv2d) && !conv.has_forward_hooks()) {
    const auto& c = static_cast<const Conv2d&>(conv);
    return conv.named_call([&] { return conv2d_add(x, c.weight, c.bias, c.stride, c.padding, residual); });
  }
  return conv(x) + residual;
}

}  // namespace minidl
