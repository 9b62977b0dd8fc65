#include "ema.h"

#include <cmath>

#include "../autograd/ops.h"
#include "../autograd/variable.h"

namespace minidl {

ExponentialMovingAverage::ExponentialMovingAverage(const Module& model, double decay) : decay_(decay) {
  MINIDL_CHECK(std::isfinite(decay) && decay >= 0 && decay < 1, "ExponentialMovingAverage: expected a decay in [0, 1), found ",
               decay);
  for (const auto& [name, t] : model.state_dict()) average_.emplace_back(name, t.detach().clone());
}

void ExponentialMovingAverage::update(const Module& model) {
  NoGradGuard no_grad;
  const NamedTensors now = model.state_dict();
  MINIDL_CHECK(now.size() == average_.size(), "ExponentialMovingAverage: the model has ", now.size(),
               " state tensors, the average ", average_.size());
  for (size_t i = 0; i < now.size(); ++i) {
    Tensor& avg = average_[i].second;
    const Tensor& w = now[i].second;
    MINIDL_CHECK(now[i].first == average_[i].first && w.shape() == avg.shape(), "ExponentialMovingAverage: ", now[i].first,
                 " does not match the averaged ", average_[i].first);
    avg = is_floating(w.dtype()) ? avg * decay_ + w.detach() * (1 - decay_) : w.detach().clone();
  }
}

void ExponentialMovingAverage::load_state_dict(const NamedTensors& state) {
  MINIDL_CHECK(state.size() == average_.size(), "ExponentialMovingAverage: expected ", average_.size(),
               " averaged tensors, found ", state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    MINIDL_CHECK(state[i].first == average_[i].first && state[i].second.shape() == average_[i].second.shape(),
                 "ExponentialMovingAverage: expected ", average_[i].first, " ", to_string(average_[i].second.shape()),
                 ", found ", state[i].first, " ", to_string(state[i].second.shape()));
    average_[i].second = state[i].second.to(average_[i].second.dtype()).to(average_[i].second.device()).detach();
  }
}

}  // namespace minidl
