#include "sgd.h"

#include "../autograd/variable.h"
#include "../core/factory.h"
#include "../core/kernels.h"

namespace minidl {

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, "SGD"), options_(options) {
  MINIDL_CHECK(options.momentum >= 0 && options.dampening >= 0, "SGD: expected momentum >= 0 and dampening >= 0");
  MINIDL_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
               "SGD: Nesterov momentum requires momentum > 0 and dampening 0");
  momentum_buffers_.resize(num_params_);
}

void SGD::step() {
  NoGradGuard no_grad;
  for_each_param_with_grad([&](Group& g, Tensor& p, size_t i) {
    Tensor& buf = momentum_buffers_[i];
    const bool first = !buf.defined();
    if (first && options_.momentum != 0) buf = zeros_like(p);
    kernels::sgd_step(p, p.grad(), buf, g.lr, options_.momentum, options_.dampening, g.weight_decay,
                      options_.nesterov, first);
  });
}

NamedTensors SGD::param_state(size_t i) const { return {{"momentum_buffer", momentum_buffers_[i]}}; }

void SGD::set_param_state(size_t i, const std::string& name, const Tensor& value) {
  MINIDL_CHECK(name == "momentum_buffer", "SGD.load_state_dict: unexpected state '", name, "'");
  momentum_buffers_[i] = value;
}

}  // namespace minidl
