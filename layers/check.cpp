#include "check.h"

#include <algorithm>

#include "../autograd/gradcheck.h"

namespace minidl {

std::vector<LayerCheck> check_layers(Module& model, const Tensor& input, const LayerCheckOptions& options) {
  model.to(kFloat64);
  struct Call {
    std::string name;
    Module* module;
    Tensor input;
  };
  std::vector<Call> calls;
  std::vector<std::pair<Module*, int>> hooks;
  for (auto& [name, m] : model.named_modules()) {
    hooks.emplace_back(m, m->register_forward_hook([&calls, name = name](Module& mod, const Tensor& x, const Tensor&) {
      const bool seen = std::any_of(calls.begin(), calls.end(), [&](const Call& c) { return c.module == &mod; });
      if (!seen) calls.push_back({name.empty() ? "(model)" : name, &mod, x.detach().clone()});
    }));
  }
  {
    NoGradGuard no_grad;
    model(input.to(kFloat64));
  }
  for (auto& [m, id] : hooks) m->remove_forward_hook(id);
  std::vector<LayerCheck> results;
  for (const Call& call : calls) {
    Tensor x = call.input.clone().requires_grad_();
    std::vector<Tensor> leaves{x};
    std::vector<std::string> names{"input"};
    for (auto& [pname, p] : call.module->named_parameters()) {
      leaves.push_back(p);
      names.push_back(pname);
    }
    const GradcheckReport r = gradcheck_in_place([&] { return (*call.module)(x); }, leaves, options.eps, options.atol,
                                                 options.rtol, options.max_elements);
    LayerCheck row{call.name, call.module->type_name(), r.max_abs_error(), r.max_rel_error(), "", r.ok()};
    for (size_t i = 0; i < r.inputs.size(); ++i)
      if (r.inputs[i].max_rel_error == r.max_rel_error()) row.worst = names[i];
    results.push_back(row);
  }
  return results;
}

}  // namespace minidl
