// SyncBatchNorm's forward, composed of differentiable ops around two all-reduces, so autograd
// derives the backward (with its two all-reduces of Σdy and Σdy·x̂ in disguise):
//
//   n    = Σ_ranks N·H·W                      mean = Σ_ranks Σ x / n
//   var  = Σ_ranks Σ (x − mean)² / n          y    = (x − mean) / √(var + eps) · γ + β
//
// The variance is taken about the global mean (two passes), never as Σx²/n − mean², which
// cancels. The count travels with the first sum, so a step costs two all-reduces forward.
#include "sync_batch_norm.h"

#include "../autograd/ops.h"
#include "../core/factory.h"
#include "../core/kernels.h"
#include "functional.h"

namespace minidl::dist {

SyncBatchNorm::SyncBatchNorm(int64_t num_features_, ProcessGroup& group, double eps_, double momentum_, bool affine,
                             bool track_running_stats)
    : BatchNorm2d(num_features_, eps_, momentum_, affine, track_running_stats), group_(group) {}

Tensor SyncBatchNorm::forward(const Tensor& x) {
  if (!is_training()) return BatchNorm2d::forward(x);
  MINIDL_CHECK(x.defined() && x.dim() == 4 && x.size(1) == num_features, "SyncBatchNorm: expected an input [N, ",
               num_features, ", H, W], found ", x.defined() ? to_string(x.shape()) : "undefined");
  MINIDL_CHECK(virtual_batch_size == 0, "SyncBatchNorm: virtual_batch_size is BatchNorm2d's (statistics per slice); "
               "SyncBatchNorm takes them over every rank's images");
  const int64_t C = num_features;
  const Shape per_channel{1, C, 1, 1};
  const double local_count = static_cast<double>(x.numel() / C);
  // [Σx per channel, count] summed over the ranks in one call.
  Tensor packed = all_reduce_sum(cat({sum(x, {0, 2, 3}), full({1}, local_count, x.dtype(), x.device())}), group_);
  const double n = narrow(packed, 0, C, 1).detach().to(Device::cpu()).item<double>();
  MINIDL_CHECK(n > 1, "SyncBatchNorm: expected more than 1 value per channel over all ranks, found ", n);
  Tensor mean = narrow(packed, 0, 0, C) / n;
  Tensor centered = x - mean.reshape(per_channel);
  Tensor var = all_reduce_sum(sum(centered * centered, {0, 2, 3}), group_) / n;
  Tensor y = centered * pow(var + eps, -0.5).reshape(per_channel);
  if (weight.defined()) y = y * weight.reshape(per_channel) + bias.reshape(per_channel);

  if (running_mean.defined()) {
    // PyTorch: running stats move with the unbiased variance, n / (n − 1).
    NoGradGuard no_grad;
    kernels::copy_(running_mean, running_mean * (1 - momentum) + mean.detach() * momentum);
    kernels::copy_(running_var, running_var * (1 - momentum) + var.detach() * (momentum * n / (n - 1)));
    ++num_batches_tracked.data<int64_t>()[0];
  }
  return y;
}

int convert_sync_batchnorm(Module& model, ProcessGroup& group) {
  // Found first, replaced after: a replaced child is freed, and named_modules() points into it.
  std::vector<std::pair<Module*, std::string>> sites;
  for (auto& entry : model.named_modules())
    for (auto& child : entry.second->named_children()) {
      auto* bn = dynamic_cast<BatchNorm2d*>(child.second.get());
      if (bn != nullptr && dynamic_cast<SyncBatchNorm*>(bn) == nullptr) sites.emplace_back(entry.second, child.first);
    }
  for (auto& [parent, name] : sites) {
    auto& bn = dynamic_cast<BatchNorm2d&>(parent->child(name));
    auto sync = std::make_shared<SyncBatchNorm>(bn.num_features, group, bn.eps, bn.momentum, bn.weight.defined(),
                                                bn.running_mean.defined());
    const Tensor& like = bn.weight.defined() ? bn.weight : bn.running_mean;
    if (like.defined()) {
      sync->to(like.dtype());
      sync->to(like.device());
    }
    sync->load_state_dict(bn.state_dict());
    sync->train(bn.is_training());
    parent->replace_module(name, sync);
  }
  return static_cast<int>(sites.size());
}

}  // namespace minidl::dist
