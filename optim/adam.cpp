#include "adam.h"

#include "../autograd/variable.h"
#include "../core/factory.h"
#include "../core/kernels.h"

namespace minidl {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled, const char* kind)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, kind), options_(options), decoupled_(decoupled) {
  MINIDL_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1 && options.eps >= 0,
               kind, ": expected 0 <= beta < 1 and eps >= 0, found betas (", options.beta1, ", ", options.beta2,
               ") and eps ", options.eps);
  state_.resize(num_params_);
}

void Adam::step() {
  NoGradGuard no_grad;
  for_each_param_with_grad([&](Group& g, Tensor& p, size_t i) {
    State& s = state_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = zeros_like(p);
      s.exp_avg_sq = zeros_like(p);
    }
    ++s.step;
    kernels::adam_step(p, p.grad(), s.exp_avg, s.exp_avg_sq, s.step, g.lr, options_.beta1, options_.beta2,
                       options_.eps, g.weight_decay, decoupled_);
  });
}

NamedTensors Adam::param_state(size_t i) const {
  const State& s = state_[i];
  if (!s.exp_avg.defined()) return {};
  return {{"step", scalar_tensor(static_cast<double>(s.step), kInt64)}, {"exp_avg", s.exp_avg}, {"exp_avg_sq", s.exp_avg_sq}};
}

void Adam::set_param_state(size_t i, const std::string& name, const Tensor& value) {
  State& s = state_[i];
  if (name == "step") s.step = value.item<int64_t>();
  else if (name == "exp_avg") s.exp_avg = value;
  else if (name == "exp_avg_sq") s.exp_avg_sq = value;
  else MINIDL_FAIL(kind_, ".load_state_dict: unexpected state '", name, "'");
}

}  // namespace minidl
