// Adam (torch.optim.Adam: weight decay as L2 in the gradient) and AdamW (torch.optim.AdamW:
// weight decay applied to the parameter directly, decoupled from the gradient).
#pragma once

#include "optimizer.h"

namespace minidl {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam(std::move(groups), options, false, "Adam") {}
  Adam(std::vector<Tensor> params, AdamOptions options) : Adam(single_group(std::move(params)), options) {}
  void step() override;

 protected:
  Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled, const char* kind);

 private:
  NamedTensors param_state(size_t i) const override;
  void set_param_state(size_t i, const std::string& name, const Tensor& value) override;

  struct State {
    int64_t step = 0;
    Tensor exp_avg, exp_avg_sq;
  };
  AdamOptions options_;
  bool decoupled_;
  std::vector<State> state_;
};

/// AdamW: as Adam, with decoupled weight decay (default 0.01, as in PyTorch).
class AdamW : public Adam {
 public:
  static AdamOptions defaults() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = defaults())
      : Adam(std::move(groups), options, true, "AdamW") {}
  AdamW(std::vector<Tensor> params, AdamOptions options = defaults())
      : AdamW(single_group(std::move(params)), options) {}
};

}  // namespace minidl
