// SGD with momentum, Nesterov momentum and weight decay (torch.optim.SGD).
#pragma once

#include "optimizer.h"

namespace minidl {

struct SGDOptions {
  double lr = 0.1;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options);
  SGD(std::vector<Tensor> params, SGDOptions options) : SGD(single_group(std::move(params)), options) {}
  void step() override;

 private:
  NamedTensors param_state(size_t i) const override;
  void set_param_state(size_t i, const std::string& name, const Tensor& value) override;

  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // per parameter; undefined until its first step
};

}  // namespace minidl
