#include "lr_scheduler.h"

#include <algorithm>
#include <cmath>

#include "../core/factory.h"

namespace minidl {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (size_t g = 0; g < optimizer.num_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::apply() {
  for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lr_at(base_lrs_[g], t_));
}

void LRScheduler::step() {
  ++t_;
  apply();
}

NamedTensors LRScheduler::state_dict() const { return {{"last_step", scalar_tensor(static_cast<double>(t_), kInt64)}}; }

void LRScheduler::load_state_dict(const NamedTensors& state) {
  MINIDL_CHECK(state.size() == 1 && state[0].first == "last_step" && state[0].second.numel() == 1,
               "LRScheduler.load_state_dict: expected exactly the key 'last_step'");
  t_ = state[0].second.item<int64_t>();
  apply();
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  MINIDL_CHECK(step_size > 0, "StepLR: expected step_size > 0, found ", step_size);
  apply();
}

double StepLR::lr_at(double base_lr, int64_t t) const {
  return base_lr * std::pow(gamma_, static_cast<double>(t / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  MINIDL_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR: milestones must be increasing");
  apply();
}

double MultiStepLR::lr_at(double base_lr, int64_t t) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
  return base_lr * std::pow(gamma_, static_cast<double>(passed));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  MINIDL_CHECK(t_max > 0, "CosineAnnealingLR: expected T_max > 0, found ", t_max);
  apply();
}

double CosineAnnealingLR::lr_at(double base_lr, int64_t t) const {
  const double progress = static_cast<double>(std::min(t, t_max_)) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr - eta_min_) * (1 + std::cos(M_PI * progress)) / 2;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor,
                           std::shared_ptr<LRScheduler> then)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps), start_factor_(start_factor), then_(std::move(then)) {
  MINIDL_CHECK(warmup_steps > 0 && start_factor > 0 && start_factor <= 1,
               "LinearWarmup: expected warmup_steps > 0 and 0 < start_factor <= 1, found ", warmup_steps, " and ",
               start_factor);
  // `then` captured the optimizer's lrs as its bases before any warm-up was applied, as we did.
  apply();
}

double LinearWarmup::lr_at(double base_lr, int64_t t) const {
  const double lr = then_ ? then_->lr_at(base_lr, t) : base_lr;
  const double progress = static_cast<double>(std::min(t, warmup_steps_)) / static_cast<double>(warmup_steps_);
  return lr * (start_factor_ + (1 - start_factor_) * progress);
}

}  // namespace minidl
