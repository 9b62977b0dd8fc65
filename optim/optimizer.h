// Optimizer: the base of SGD, Adam and AdamW. Parameters come in groups, each with its own
// learning rate and weight decay, so that (the usual recipe) biases and normalization γ/β
// can be left out of weight decay.
#pragma once

#include <optional>
#include <vector>

#include "../core/tensor.h"

namespace minidl {

/// Parameters that share hyper-parameters; unset values take the optimizer's defaults.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr, weight_decay;
};

/// All `params` in one group with the optimizer's defaults.
inline std::vector<ParamGroup> single_group(std::vector<Tensor> params) {
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}

/// Two groups from named parameters: weights (rank >= 2: conv and linear) with `weight_decay`,
/// and everything of rank <= 1 (biases, norm γ and β) with none.
///   SGD opt(split_weight_decay(model.named_parameters(), 5e-4), {.lr = 0.1, .momentum = 0.9});
std::vector<ParamGroup> split_weight_decay(const NamedTensors& named_parameters, double weight_decay);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Updates every parameter that has a gradient, under NoGradGuard.
  virtual void step() = 0;
  /// Drops every parameter's gradient.
  void zero_grad();

  size_t num_groups() const { return groups_.size(); }
  double lr(size_t group = 0) const { return groups_.at(group).lr; }
  void set_lr(size_t group, double lr) { groups_.at(group).lr = lr; }
  double weight_decay(size_t group = 0) const { return groups_.at(group).weight_decay; }

  /// Per-parameter state ("state.<i>.<name>", i counting parameters across groups) and each
  /// group's "param_groups.<g>.lr" / ".weight_decay": enough to resume training exactly.
  NamedTensors state_dict() const;
  /// Restores a state_dict() of an optimizer of the same kind over parameters of the same shapes.
  void load_state_dict(const NamedTensors& state);

 protected:
  struct Group {
    std::vector<Tensor> params;
    double lr, weight_decay;
  };
  Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay, const char* kind);

  /// The state tensors of parameter i (flat index), by name: "momentum_buffer", "exp_avg", ...
  virtual NamedTensors param_state(size_t i) const = 0;
  virtual void set_param_state(size_t i, const std::string& name, const Tensor& value) = 0;
  /// Calls f(group, param, flat index) for every parameter that has a gradient.
  template <typename F>
  void for_each_param_with_grad(F f) {
    size_t i = 0;
    for (Group& g : groups_)
      for (Tensor& p : g.params) {
        if (p.grad().defined()) f(g, p, i);
        ++i;
      }
  }

  std::vector<Group> groups_;
  size_t num_params_ = 0;
  const char* kind_;
};

}  // namespace minidl
