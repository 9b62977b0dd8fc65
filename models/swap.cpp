#include "swap.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "../core/factory.h"
#include "../core/kernels.h"
#include "../core/moments.h"
#include "../layers/batch_norm.h"
#include "../layers/group_norm.h"

namespace minidl {
namespace {

struct Site {
  Module* parent;
  std::string child;  // name within the parent
  std::string path;   // dotted name within the model
  BatchNorm2d* bn;
};

// Mean and (biased) standard deviation per channel of every t [N, C, *] added, in double
// (core/moments.h: the same statistics as the normalization kernels).
struct ChannelStats {
  std::vector<Moments<double>> channels;
  void add(const Tensor& t) {
    const std::vector<double> v = t.to_vector<double>();
    const int64_t N = t.size(0), C = t.size(1), HW = t.numel() / std::max<int64_t>(N * C, 1);
    if (channels.empty()) channels.resize(static_cast<size_t>(C));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) add_span(channels[c], v.data() + (n * C + c) * HW, HW);
  }
  bool empty() const { return channels.empty(); }
  double mean(size_t c) const { return channels[c].mean; }
  double std(size_t c) const { return std::sqrt(channels[c].variance()); }
};

}  // namespace

SwapMode parse_swap_mode(const std::string& name) {
  if (name == "copy") return SwapMode::Copy;
  if (name == "calibrate") return SwapMode::Calibrate;
  MINIDL_FAIL("swap_bn_to_gn: expected mode \"copy\" or \"calibrate\", found \"", name, "\"");
}

int swap_bn_to_gn(Module& model, int64_t groups, SwapMode mode, const std::vector<Tensor>& calibration_batches) {
  MINIDL_CHECK(mode != SwapMode::Calibrate || !calibration_batches.empty(),
               "swap_bn_to_gn: calibrate needs at least one calibration batch");
  std::vector<Site> sites;
  for (auto& [path, m] : model.named_modules())
    for (const auto& [name, child] : m->named_children())
      if (auto* bn = dynamic_cast<BatchNorm2d*>(child.get()))
        sites.push_back({m, name, path.empty() ? name : path + "." + name, bn});
  for (const Site& s : sites)
    MINIDL_CHECK(groups > 0 && s.bn->num_features % groups == 0, "swap_bn_to_gn: ", s.path, ": GroupNorm cannot split ",
                 s.bn->num_features, " channels into ", groups, " groups");

  const bool was_training = model.is_training();
  NoGradGuard no_grad;
  model.eval();
  if (mode == SwapMode::Calibrate) {
    // Forward order: the order in which one forward pass calls the BN layers.
    std::map<BatchNorm2d*, int> first_call;
    std::vector<std::pair<Module*, int>> hooks;
    for (const Site& s : sites)
      hooks.emplace_back(s.bn, s.bn->register_forward_hook([&first_call, bn = s.bn](Module&, const Tensor&, const Tensor&) {
                           first_call.emplace(bn, static_cast<int>(first_call.size()));
                         }));
    model(calibration_batches.front());
    for (auto& [m, id] : hooks) m->remove_forward_hook(id);
    auto order = [&](const Site& s) { return first_call.count(s.bn) ? first_call[s.bn] : static_cast<int>(sites.size()); };
    std::stable_sort(sites.begin(), sites.end(), [&](const Site& a, const Site& b) { return order(a) < order(b); });
  }

  for (const Site& s : sites) {
    auto gn = std::make_shared<GroupNorm>(groups, s.bn->num_features, s.bn->eps, /*affine=*/true);
    if (mode == SwapMode::Copy) {
      if (s.bn->weight.defined()) kernels::copy_(gn->weight, s.bn->weight);
      if (s.bn->bias.defined()) kernels::copy_(gn->bias, s.bn->bias);
    } else {
      // Statistics of BN's output and of GN's raw normalization, on the input BN receives now.
      ChannelStats bn_stats, gn_stats;
      const int id = s.bn->register_forward_hook([&](Module&, const Tensor& input, const Tensor& output) {
        bn_stats.add(output);
        gn_stats.add(group_norm(input, groups, Tensor(), Tensor(), s.bn->eps));
      });
      for (const Tensor& batch : calibration_batches) model(batch);
      s.bn->remove_forward_hook(id);
      MINIDL_CHECK(!bn_stats.empty(), "swap_bn_to_gn: ", s.path, " was not called by the model's forward");
      std::vector<double> gamma(bn_stats.channels.size()), beta(bn_stats.channels.size());
      for (size_t c = 0; c < gamma.size(); ++c) {
        const double g_std = gn_stats.std(c);
        gamma[c] = g_std > 1e-12 ? bn_stats.std(c) / g_std : 1.0;
        beta[c] = bn_stats.mean(c) - gamma[c] * gn_stats.mean(c);
      }
      kernels::copy_(gn->weight, from_vector(gamma));
      kernels::copy_(gn->bias, from_vector(beta));
    }
    gn->to(s.bn->weight.defined() ? s.bn->weight.dtype() : kFloat32);
    s.parent->replace_module(s.child, gn);
  }
  model.train(was_training);
  return static_cast<int>(sites.size());
}

}  // namespace minidl
