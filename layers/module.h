// Module: the base of every layer and model. It owns named parameters (trained), buffers
// (state that is saved but not trained, such as BatchNorm's running statistics) and child
// modules, and gives them PyTorch's dotted names: "layer1.0.bn1.running_var".
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/functional.h"

namespace minidl {

class Module {
 public:
  virtual ~Module() = default;

  /// The layer's computation. Call the module instead, m(x), to get errors that name it.
  virtual Tensor forward(const Tensor& x) = 0;
  /// forward(x); an Error raised inside is prefixed with the innermost module's type and
  /// dotted name: "Conv2d 'layer1.0.conv1': conv2d: input has 3 channels but ...".
  Tensor operator()(const Tensor& x);

  /// "Conv2d", "BatchNorm2d", ... (PyTorch's class names).
  virtual std::string type_name() const = 0;
  /// The arguments shown in the printed tree: "3, 16, kernel_size=(3, 3), stride=(1, 1)".
  virtual std::string extra_repr() const { return ""; }
  /// Dotted path from the root module ("layer1.0.conv1"); "" for the root.
  const std::string& name() const { return name_; }

  /// Parameters of this module and (with recurse) its descendants, in registration order.
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// The child registered as `name`; throws if there is none. Models call their parts through
  /// it (child("bn1")(x)) so that a replaced child is the one that runs.
  Module& child(const std::string& name) const;
  /// This module ("") and every descendant, depth first, with their dotted names.
  std::vector<std::pair<std::string, Module*>> named_modules();

  /// Training mode (batch statistics in BatchNorm) or eval mode, for the whole subtree.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Drops every parameter's gradient.
  void zero_grad();
  /// Converts every floating parameter and buffer to `dtype`, in place (gradients are dropped).
  void to(DType dtype);
  /// Moves every parameter and buffer to `device`, in place (gradients are dropped):
  /// model.to(Device::cuda(0)).
  void to(Device device);

  /// Called after every forward of this module with its input and output (as in PyTorch's
  /// register_forward_hook): how BN→GN calibration and the layer-by-layer gradient checker see
  /// inside a model. Returns an id for remove_forward_hook.
  using ForwardHook = std::function<void(Module& module, const Tensor& input, const Tensor& output)>;
  int register_forward_hook(ForwardHook hook);
  void remove_forward_hook(int id);
  bool has_forward_hooks() const { return !hooks_.empty(); }

  /// Runs body() with an Error from inside prefixed by this module's type and name, as m(x) does
  /// for forward — for a layer's other entry points (BatchNorm2d's forward with a fused
  /// epilogue). Runs no hooks.
  Tensor named_call(const std::function<Tensor()>& body);

  /// Replaces the child registered as `name`, keeping the name (swapping one normalization
  /// for another, say); throws if there is no such child.
  void replace_module(const std::string& name, std::shared_ptr<Module> module);

  /// Parameters and buffers by dotted name — what a checkpoint holds, in PyTorch's order. The
  /// tensors share storage with the module (save them before training on).
  NamedTensors state_dict() const;
  /// Copies values into the module's tensors (converting dtype). Throws one Error listing every
  /// missing key, unexpected key (both only when strict) and shape mismatch; on error nothing
  /// is copied.
  void load_state_dict(const NamedTensors& state, bool strict = true);

 protected:
  /// Registers a trainable tensor under `name`; returns it (the same tensor, not a copy).
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers a non-trainable tensor that belongs in the state dict.
  Tensor register_buffer(const std::string& name, Tensor value);
  /// Registers a child module; its parameters appear as "<name>.<param>".
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// The children in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void set_name(const std::string& name);
  void collect(const std::string& prefix, bool params, bool buffers, bool recurse, NamedTensors& out) const;
  friend std::ostream& operator<<(std::ostream& os, const Module& module);
  void print(std::ostream& os, int indent) const;

  std::string name_;
  bool training_ = true;
  NamedTensors parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  int next_hook_id_ = 0;
};

/// Prints the module tree as PyTorch does:
///   Sequential(
///     (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
///   )
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace minidl
