// The parameter-free layers: ReLU, Dropout, Flatten, Identity — and Sequential, which chains modules.
#pragma once

#include "module.h"

namespace minidl {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

/// torch.nn.Dropout(p): zeroes elements with probability p in training mode (scaling the others
/// by 1 / (1 − p)); the identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training()); }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  const double p;
};

/// [N, C, H, W] -> [N, C·H·W] (dims from start_dim on are merged).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start = 1) : start_dim(start) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim); }
  std::string type_name() const override { return "Flatten"; }
  const int64_t start_dim;
};

/// Returns its input: a placeholder (a shortcut without downsampling, a removed norm).
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

/// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
///   auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{conv, bn, relu});
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  /// Appends a module as child number size().
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return children().at(i).second; }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace minidl
