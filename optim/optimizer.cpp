#include "optimizer.h"


#include "../core/factory.h"

namespace minidl {

std::vector<ParamGroup> split_weight_decay(const NamedTensors& named_parameters, double weight_decay) {
  ParamGroup decay{{}, std::nullopt, weight_decay}, no_decay{{}, std::nullopt, 0.0};
  for (const auto& [name, p] : named_parameters) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
  return {decay, no_decay};
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay, const char* kind)
    : kind_(kind) {
  MINIDL_CHECK(!groups.empty(), kind, ": expected at least one parameter group");
  for (auto& g : groups) {
    const double lr = g.lr.value_or(default_lr), wd = g.weight_decay.value_or(default_weight_decay);
    MINIDL_CHECK(lr >= 0 && wd >= 0, kind, ": expected lr >= 0 and weight_decay >= 0, found ", lr, " and ", wd);
    for (const Tensor& p : g.params)
      MINIDL_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), kind,
                   ": every parameter must be a leaf tensor that requires grad");
    num_params_ += g.params.size();
    groups_.push_back({std::move(g.params), lr, wd});
  }
}

void Optimizer::zero_grad() {
  for (Group& g : groups_)
    for (Tensor& p : g.params) p.zero_grad();
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  for (size_t i = 0; i < num_params_; ++i)
    for (auto& [name, t] : param_state(i))
      if (t.defined()) out.emplace_back("state." + std::to_string(i) + "." + name, t.clone());
  for (size_t g = 0; g < groups_.size(); ++g) {
    out.emplace_back("param_groups." + std::to_string(g) + ".lr", scalar_tensor(groups_[g].lr, kFloat64));
    out.emplace_back("param_groups." + std::to_string(g) + ".weight_decay",
                     scalar_tensor(groups_[g].weight_decay, kFloat64));
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  // Parse and check every entry first, so that a bad state leaves the optimizer as it was.
  struct Entry {
    bool per_param;  // "state.<i>.<field>" rather than "param_groups.<g>.<field>"
    size_t index;
    std::string field;
    const Tensor* value;
  };
  std::vector<const Tensor*> flat;
  for (const Group& g : groups_)
    for (const Tensor& p : g.params) flat.push_back(&p);
  std::vector<Entry> entries;
  for (const auto& [key, value] : state) {
    const size_t dot1 = key.find('.'), dot2 = dot1 == std::string::npos ? dot1 : key.find('.', dot1 + 1);
    const std::string section = key.substr(0, dot1);
    const std::string index = dot2 == std::string::npos ? "" : key.substr(dot1 + 1, dot2 - dot1 - 1);
    const bool ok = (section == "state" || section == "param_groups") && !index.empty() && index.size() < 10 &&
                    index.find_first_not_of("0123456789") == std::string::npos && value.defined();
    MINIDL_CHECK(ok, kind_, ".load_state_dict: unexpected key '", key, "'");
    Entry e{section == "state", std::stoul(index), key.substr(dot2 + 1), &value};
    if (e.per_param) {
      MINIDL_CHECK(e.index < num_params_, kind_, ".load_state_dict: '", key, "' refers to parameter ", e.index,
                   ", but this optimizer has ", num_params_);
      MINIDL_CHECK(value.numel() == 1 || value.shape() == flat[e.index]->shape(), kind_, ".load_state_dict: '", key,
                   "' has shape ", to_string(value.shape()), ", the parameter ", to_string(flat[e.index]->shape()));
    } else {
      MINIDL_CHECK(e.index < groups_.size() && (e.field == "lr" || e.field == "weight_decay") && value.numel() == 1,
                   kind_, ".load_state_dict: unexpected key '", key, "' (this optimizer has ", groups_.size(), " groups)");
    }
    entries.push_back(e);
  }
  std::vector<Device> devices;  // of each parameter: its state lives beside it
  for (const Group& g : groups_)
    for (const Tensor& p : g.params) devices.push_back(p.device());
  for (const Entry& e : entries) {
    if (e.per_param) set_param_state(e.index, e.field, e.value->clone().to(devices[e.index]));
    else if (e.field == "lr") groups_[e.index].lr = e.value->item<double>();
    else groups_[e.index].weight_decay = e.value->item<double>();
  }
}

}  // namespace minidl
