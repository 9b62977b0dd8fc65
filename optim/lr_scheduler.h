// Learning-rate schedules. Each is a closed form lr(base_lr, t) of the step count t (epochs
// or iterations, as you call step()); step() advances t and sets every group's lr.
#pragma once

#include <memory>
#include <vector>

#include "optimizer.h"

namespace minidl {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  /// Advances t by one and sets each group's lr to lr_at(its base lr, t).
  void step();
  int64_t last_step() const { return t_; }
  /// The schedule: the learning rate at step t for a group whose initial lr was base_lr.
  virtual double lr_at(double base_lr, int64_t t) const = 0;
  /// {"last_step": t} — the base learning rates come from the optimizer at construction.
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);

 protected:
  /// Remembers each group's current lr as its base lr and applies lr_at(base, 0).
  explicit LRScheduler(Optimizer& optimizer);
  void apply();
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t t_ = 0;
};

/// lr = base · gamma^floor(t / step_size)   (torch.optim.lr_scheduler.StepLR)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(double base_lr, int64_t t) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr = base · gamma^(number of milestones <= t)   (MultiStepLR)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(double base_lr, int64_t t) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

/// lr = eta_min + (base − eta_min) · (1 + cos(π · min(t, T_max) / T_max)) / 2   (CosineAnnealingLR)
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0);
  double lr_at(double base_lr, int64_t t) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up over the first `warmup_steps` steps, from start_factor·lr to lr, where lr is
/// the base lr or, given `then`, that schedule's lr at the same step (PyTorch's LinearLR, or
/// SequentialLR-free composition with another schedule).
///   auto warm = LinearWarmup(opt, 5, 0.1, std::make_shared<CosineAnnealingLR>(opt, 100));
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 0.1,
               std::shared_ptr<LRScheduler> then = nullptr);
  double lr_at(double base_lr, int64_t t) const override;

 private:
  int64_t warmup_steps_;
  double start_factor_;
  std::shared_ptr<LRScheduler> then_;
};

}  // namespace minidl
