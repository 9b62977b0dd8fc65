#include "module.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "../core/kernels.h"

namespace minidl {

Tensor Module::operator()(const Tensor& x) {
  return named_call([&] {
    Tensor y = forward(x);
    for (auto& [id, hook] : hooks_) hook(*this, x, y);
    return y;
  });
}

Tensor Module::named_call(const std::function<Tensor()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    if (e.names_module()) throw;
    const std::string who = type_name() + (name_.empty() ? "" : " '" + name_ + "'");
    throw Error(who + ": " + e.what(), /*names_module=*/true);
  }
}

int Module::register_forward_hook(ForwardHook hook) {
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Module::remove_forward_hook(int id) {
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(), [id](const auto& h) { return h.first == id; }), hooks_.end());
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  MINIDL_CHECK(value.defined(), type_name(), ": parameter '", name, "' is undefined");
  value.requires_grad_(requires_grad);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  MINIDL_CHECK(module != nullptr, type_name(), ": child module '", name, "' is null");
  for (const auto& [n, m] : children_) MINIDL_CHECK(n != name, type_name(), ": child module '", name, "' already exists");
  module->set_name(name_.empty() ? name : name_ + "." + name);
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  for (auto& [n, m] : children_) {
    if (n != name) continue;
    module->set_name(name_.empty() ? name : name_ + "." + name);
    module->train(training_);
    m = std::move(module);
    return;
  }
  MINIDL_FAIL(type_name(), ": no child module named '", name, "' to replace");
}

void Module::set_name(const std::string& name) {
  name_ = name;
  for (auto& [n, m] : children_) m->set_name(name + "." + n);
}

void Module::collect(const std::string& prefix, bool params, bool buffers, bool recurse, NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : parameters_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", true, false, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", false, true, recurse, out);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

Module& Module::child(const std::string& name) const {
  for (const auto& [n, m] : children_)
    if (n == name) return *m;
  MINIDL_FAIL(type_name(), (name_.empty() ? "" : " '" + name_ + "'"), ": no child module named '", name, "'");
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [n, m] : children_)
    for (auto& [sub, ptr] : m->named_modules()) out.emplace_back(sub.empty() ? n : n + "." + sub, ptr);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::to(DType dtype) {
  MINIDL_CHECK(is_floating(dtype), type_name(), ".to: expected float32 or float64, found ", dtype);
  NamedTensors all;
  collect("", true, true, true, all);
  for (auto& [n, t] : all) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) continue;
    t.set_data(kernels::cast(t, dtype));
    t.zero_grad();
  }
}

void Module::to(Device device) {
  NamedTensors all;
  collect("", true, true, true, all);
  for (auto& [n, t] : all) {
    if (t.device() == device) continue;
    t.set_data(t.device_copy(device));
    t.zero_grad();
  }
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, true, out);
  for (auto& [n, t] : out) t = t.detach();
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, t] : state) given[n] = &t;
  NamedTensors mine;
  collect("", true, true, true, mine);

  // Check everything first: on any problem nothing is copied.
  std::vector<std::string> missing, mismatched;
  std::map<std::string, bool> used;
  for (const auto& [n, t] : mine) {
    auto it = given.find(n);
    if (it == given.end()) {
      missing.push_back(n);
      continue;
    }
    used[n] = true;
    if (!it->second->defined() || it->second->shape() != t.shape())
      mismatched.push_back(n + ": checkpoint " + (it->second->defined() ? to_string(it->second->shape()) : "undefined") +
                           ", model " + to_string(t.shape()));
  }
  std::ostringstream problems;
  if (strict && !missing.empty()) {
    problems << "\n  missing keys:";
    for (const auto& n : missing) problems << " " << n;
  }
  if (strict && used.size() < given.size()) {
    problems << "\n  unexpected keys:";
    for (const auto& [n, t] : given)
      if (!used.count(n)) problems << " " << n;
  }
  for (const auto& m : mismatched) problems << "\n  shape mismatch for " << m;
  MINIDL_CHECK(problems.str().empty(), "load_state_dict: cannot load into ", type_name(),
               (name_.empty() ? "" : " '" + name_ + "'"), ":", problems.str());

  NoGradGuard no_grad;
  for (auto& [n, t] : mine)
    if (auto it = given.find(n); it != given.end()) kernels::copy_(t, *it->second);
}

void Module::print(std::ostream& os, int indent) const {
  os << type_name() << "(" << extra_repr();
  if (children_.empty()) {
    os << ")";
    return;
  }
  os << "\n";
  for (const auto& [n, m] : children_) {
    os << std::string(indent + 2, ' ') << "(" << n << "): ";
    m->print(os, indent + 2);
    os << "\n";
  }
  os << std::string(indent, ' ') << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) {
  module.print(os, 0);
  return os;
}

}  // namespace minidl
