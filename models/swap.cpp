#include "swap.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

#include "../core/factory.h"
#include "../core/kernels.h"
#include "../layers/batch_norm.h"
#include "../layers/group_norm.h"
#include "../optim/adam.h"

namespace minidl {
namespace {

struct Site {
  Module* parent;
  std::string child;  // name within the parent
  std::string path;   // dotted name within the model
  std::shared_ptr<Module> bn_module;
  BatchNorm2d* bn;
  std::shared_ptr<GroupNorm> gn;
};

// Means, variances and covariance of pairs (z, y), merged exactly as core/moments.h merges a
// set's moments (Chan, Golub and LeVeque): with δz, δy the difference of two sets' means,
//   Czy = Czy_a + Czy_b + δz·δy·na·nb/n   (and Czz, Cyy alike).
struct CoMoments {
  double n = 0, mz = 0, my = 0, czz = 0, cyy = 0, czy = 0;

  // One contiguous run of pairs, two passes in double (its mean, then the centered sums).
  void add_run(const double* z, const double* y, int64_t count) {
    if (count <= 0) return;
    CoMoments r;
    r.n = static_cast<double>(count);
    for (int64_t i = 0; i < count; ++i) {
      r.mz += z[i] / r.n;
      r.my += y[i] / r.n;
    }
    for (int64_t i = 0; i < count; ++i) {
      const double dz = z[i] - r.mz, dy = y[i] - r.my;
      r.czz += dz * dz;
      r.cyy += dy * dy;
      r.czy += dz * dy;
    }
    merge(r);
  }
  void merge(const CoMoments& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double total = n + o.n, dz = o.mz - mz, dy = o.my - my, w = n * o.n / total;
    mz += dz * o.n / total;
    my += dy * o.n / total;
    czz += o.czz + dz * dz * w;
    cyy += o.cyy + dy * dy * w;
    czy += o.czy + dz * dy * w;
    n = total;
  }
};

// Per channel of z and y [N, C, *] of one shape.
struct ChannelPairs {
  std::vector<CoMoments> channels;
  void add(const Tensor& z, const Tensor& y) {
    MINIDL_CHECK(z.shape() == y.shape(), "swap_bn_to_gn: GroupNorm's ", to_string(z.shape()), " and BatchNorm's ",
                 to_string(y.shape()), " outputs differ in shape");
    const std::vector<double> vz = z.to_vector<double>(), vy = y.to_vector<double>();
    const int64_t N = z.size(0), C = z.size(1), HW = z.numel() / std::max<int64_t>(N * C, 1);
    if (channels.empty()) channels.resize(static_cast<size_t>(C));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        channels[c].add_run(vz.data() + (n * C + c) * HW, vy.data() + (n * C + c) * HW, HW);
  }
};

// γ, β of one channel. A constant z (a dead channel) keeps γ = 1 and puts y's mean in β.
std::pair<double, double> fit_channel(const CoMoments& m, SwapMode mode) {
  const double tiny = 1e-12 * std::max(m.n, 1.0);
  double gamma = 1;
  if (m.czz > tiny) gamma = mode == SwapMode::Moments ? std::sqrt(m.cyy / m.czz) : m.czy / m.czz;
  return {gamma, m.my - gamma * m.mz};
}

// Distill: all GN γ, β at once by Adam on the mean squared difference between the swapped model's
// output and the original model's (`targets`, one per batch), a batch a step in turn. Every other
// parameter is held fixed (requires_grad off for the fit, then as it was).
void fit_to_teacher(Module& model, const std::vector<Site>& sites, const std::vector<Tensor>& batches,
                    const std::vector<Tensor>& targets, const SwapFit& fit) {
  std::vector<Tensor> fitted;
  for (const Site& s : sites) fitted.insert(fitted.end(), {s.gn->weight, s.gn->bias});
  std::vector<std::pair<Tensor, bool>> held;  // parameters held fixed, and their requires_grad
  for (Tensor& p : model.parameters())
    if (std::none_of(fitted.begin(), fitted.end(), [&](const Tensor& f) { return f.is_same(p); })) {
      held.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
  EnableGradGuard grad;  // the caller may be in no_grad
  AdamOptions o;
  o.lr = fit.lr;
  Adam opt(fitted, o);
  try {
    for (int64_t step = 0; step < fit.steps; ++step) {
      const size_t b = static_cast<size_t>(step) % batches.size();
      const Tensor loss = mean(pow(model(batches[b]) - targets[b], 2.0));
      MINIDL_CHECK(std::isfinite(loss.item<double>()), "swap_bn_to_gn: distill step ", step + 1,
                   ": the loss is not finite (lower the learning rate, now ", fit.lr, ")");
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  } catch (...) {
    for (auto& [p, requires] : held) p.requires_grad_(requires);
    throw;
  }
  for (auto& [p, requires] : held) p.requires_grad_(requires);
  opt.zero_grad();
}

}  // namespace

SwapMode parse_swap_mode(const std::string& name) {
  if (name == "copy") return SwapMode::Copy;
  if (name == "moments") return SwapMode::Moments;
  if (name == "lstsq") return SwapMode::LeastSquares;
  if (name == "distill") return SwapMode::Distill;
  MINIDL_FAIL("swap_bn_to_gn: expected mode \"copy\", \"moments\", \"lstsq\" or \"distill\", found \"", name, "\"");
}

std::string to_string(SwapMode mode) {
  switch (mode) {
    case SwapMode::Copy:
      return "copy";
    case SwapMode::Moments:
      return "moments";
    case SwapMode::LeastSquares:
      return "lstsq";
    case SwapMode::Distill:
      return "distill";
  }
  return "?";
}

int swap_bn_to_gn(Module& model, int64_t groups, SwapMode mode, const std::vector<Tensor>& calibration_batches,
                  const SwapFit& fit) {
  MINIDL_CHECK(mode == SwapMode::Copy || !calibration_batches.empty(), "swap_bn_to_gn: ", to_string(mode),
               " needs at least one calibration batch");
  std::vector<Site> sites;
  for (auto& [path, m] : model.named_modules())
    for (const auto& [name, child] : m->named_children())
      if (auto* bn = dynamic_cast<BatchNorm2d*>(child.get()))
        sites.push_back({m, name, path.empty() ? name : path + "." + name, child, bn, nullptr});
  for (Site& s : sites) {
    MINIDL_CHECK(groups > 0 && s.bn->num_features % groups == 0, "swap_bn_to_gn: ", s.path, ": GroupNorm cannot split ",
                 s.bn->num_features, " channels into ", groups, " groups");
    s.gn = std::make_shared<GroupNorm>(groups, s.bn->num_features, s.bn->eps, /*affine=*/true);
    s.gn->to(s.bn->weight.defined() ? s.bn->weight.dtype() : kFloat32);
  }

  const bool was_training = model.is_training();
  std::optional<NoGradGuard> no_grad(std::in_place);
  model.eval();
  if (mode != SwapMode::Copy) {
    // Forward order: the order in which one forward pass calls the BN layers.
    std::map<BatchNorm2d*, int> first_call;
    std::vector<std::pair<Module*, int>> hooks;
    for (const Site& s : sites)
      hooks.emplace_back(s.bn,
                         s.bn->register_forward_hook([&first_call, bn = s.bn](Module&, const Tensor&, const Tensor&) {
                           first_call.emplace(bn, static_cast<int>(first_call.size()));
                         }));
    model(calibration_batches.front());
    for (auto& [m, id] : hooks) m->remove_forward_hook(id);
    auto order = [&](const Site& s) {
      return first_call.count(s.bn) ? first_call[s.bn] : static_cast<int>(sites.size());
    };
    std::stable_sort(sites.begin(), sites.end(), [&](const Site& a, const Site& b) { return order(a) < order(b); });
  }
  // The model as it was (every site BN) or as swapped so far (sites before `k` GN).
  auto install = [&](size_t k) {
    for (size_t i = 0; i < sites.size(); ++i)
      sites[i].parent->replace_module(sites[i].child,
                                      i < k ? std::shared_ptr<Module>(sites[i].gn) : sites[i].bn_module);
  };

  std::pair<Module*, int> hook{nullptr, 0};  // the fit's hook while it is registered
  try {
    for (size_t k = 0; k < sites.size(); ++k) {
      const Site& s = sites[k];
      if (mode == SwapMode::Copy) {
        if (s.bn->weight.defined()) kernels::copy_(s.gn->weight, s.bn->weight);
        if (s.bn->bias.defined()) kernels::copy_(s.gn->bias, s.bn->bias);
        continue;
      }
      ChannelPairs pairs;
      const bool to_teacher = mode != SwapMode::Moments;  // lstsq, distill: fit the original model's output
      Tensor teacher;                                     // the original model's output here, for the batch in flight
      hook = {s.bn, s.bn->register_forward_hook([&](Module&, const Tensor& input, const Tensor& output) {
                if (to_teacher && !teacher.defined()) {
                  teacher = output;
                  return;
                }
                pairs.add(group_norm(input, groups, Tensor(), Tensor(), s.bn->eps), to_teacher ? teacher : output);
              })};
      for (const Tensor& batch : calibration_batches) {
        if (to_teacher) {
          teacher = Tensor();
          install(0);
          model(batch);
        }
        install(k);
        model(batch);
      }
      s.bn->remove_forward_hook(hook.second);
      hook.first = nullptr;
      MINIDL_CHECK(!pairs.channels.empty(), "swap_bn_to_gn: ", s.path, " was not called by the model's forward");
      std::vector<double> gamma(pairs.channels.size()), beta(pairs.channels.size());
      for (size_t c = 0; c < gamma.size(); ++c) std::tie(gamma[c], beta[c]) = fit_channel(pairs.channels[c], mode);
      kernels::copy_(s.gn->weight, from_vector(gamma));
      kernels::copy_(s.gn->bias, from_vector(beta));
    }
    if (mode == SwapMode::Distill) {
      std::vector<Tensor> targets;
      install(0);
      for (const Tensor& batch : calibration_batches) targets.push_back(model(batch));
      install(sites.size());
      no_grad.reset();
      fit_to_teacher(model, sites, calibration_batches, targets, fit);
    }
  } catch (...) {  // the model as it was
    if (hook.first) hook.first->remove_forward_hook(hook.second);
    install(0);
    model.train(was_training);
    throw;
  }
  install(sites.size());
  model.train(was_training);
  return static_cast<int>(sites.size());
}

}  // namespace minidl
