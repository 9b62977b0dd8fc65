#include "check.h"

#include <algorithm>
#include <cmath>

#include "../autograd/gradcheck.h"
#include "../autograd/ops.h"
#include "../autograd/variable.h"
#include "../core/factory.h"
#include "../core/random.h"

namespace minidl {

namespace {

struct Call {
  std::string name;
  Module* module;
  Tensor input;
};

// Converts `model` to float64 on the CPU and runs it once on `input`, recording the input each
// module receives (its first call), in the order the modules' forwards return.
std::vector<Call> record_calls(Module& model, const Tensor& input) {
  model.to(Device::cpu());
  model.to(kFloat64);
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
    model(input.to(Device::cpu()).to(kFloat64));
  }
  for (auto& [m, id] : hooks) m->remove_forward_hook(id);
  return calls;
}

}  // namespace

std::vector<LayerCheck> check_layers(Module& model, const Tensor& input, const LayerCheckOptions& options) {
  std::vector<LayerCheck> results;
  const std::vector<Call> calls = record_calls(model, input);
  Generator jitter(0x5eed);
  for (const Call& call : calls) {
    // The recorded input, moved by 1e-4 of its RMS: exact ties (the zeros a ReLU leaves before a
    // max-pool) have no derivative, and central differences across them fail by half a gradient.
    Tensor x;
    {
      NoGradGuard no_grad;
      const double rms = std::sqrt(mean(pow(call.input, 2.0)).item<double>());
      x = (call.input + randn(call.input.shape(), kFloat64, jitter) * (1e-4 * (rms > 0 ? rms : 1.0))).detach();
    }
    x.requires_grad_();
    std::vector<Tensor> leaves{x};
    std::vector<std::string> names{"input"};
    for (auto& [pname, p] : call.module->named_parameters(/*recurse=*/false)) {
      leaves.push_back(p);
      names.push_back(pname);
    }
    const GradcheckReport r = gradcheck_in_place([&] { return (*call.module)(x); }, leaves, options.eps, options.atol,
                                                 options.rtol, options.max_elements);
    LayerCheck row{call.name, call.module->type_name(), r.max_abs_error(), r.max_rel_error(), "", r.ok()};
    for (size_t i = 0; i < r.inputs.size(); ++i)
      if (r.inputs[i].max_rel_error == r.max_rel_error()) row.worst = names[i];
    results.push_back(row);
    if (options.on_row) options.on_row(row, results.size(), calls.size());
  }
  return results;
}

std::vector<LayerCheck> compare_layers_on_device(Module& model, const Tensor& input, Device device, double tolerance) {
  const std::vector<Call> calls = record_calls(model, input);
  // The gradients of vᵀ·module(x) with respect to x and each parameter, on whatever device and
  // in whatever dtype the module and x are.
  auto gradients = [](const Call& call, const Tensor& x_in, const Tensor& v) {
    Tensor x = x_in.detach().requires_grad_();
    call.module->zero_grad();
    (*call.module)(x).backward(v);
    std::vector<std::pair<std::string, Tensor>> out{{"input", x.grad().clone()}};
    for (auto& [name, p] : call.module->named_parameters())
      out.emplace_back(name, p.grad().defined() ? p.grad().clone() : Tensor());
    return out;
  };
  std::vector<std::vector<std::pair<std::string, Tensor>>> reference;
  std::vector<Tensor> projections;
  for (const Call& call : calls) {
    Tensor y;
    {
      NoGradGuard no_grad;
      y = (*call.module)(call.input);
    }
    Generator gen(0x9e3779b9);
    projections.push_back(randn(y.shape(), kFloat64, gen));
    reference.push_back(gradients(call, call.input, projections.back()));
  }
  model.to(kFloat32);
  model.to(device);
  std::vector<LayerCheck> results;
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto got = gradients(calls[i], calls[i].input.to(kFloat32).to(device),
                               projections[i].to(kFloat32).to(device));
    LayerCheck row{calls[i].name, calls[i].module->type_name(), 0, 0, "", true};
    for (size_t t = 0; t < got.size(); ++t) {
      const Tensor& ref = reference[i][t].second;
      if (!ref.defined() || !got[t].second.defined()) continue;
      const std::vector<double> a = got[t].second.to_vector<double>(), b = ref.to_vector<double>();
      double abs_err = 0, scale = 1e-30;
      for (size_t j = 0; j < a.size(); ++j) {
        abs_err = std::max(abs_err, std::abs(a[j] - b[j]));
        scale = std::max(scale, std::abs(b[j]));
      }
      row.max_abs_error = std::max(row.max_abs_error, abs_err);
      if (abs_err / scale >= row.max_rel_error) {
        row.max_rel_error = abs_err / scale;
        row.worst = got[t].first;
      }
    }
    row.ok = row.max_rel_error <= tolerance;
    results.push_back(row);
  }
  return results;
}

}  // namespace minidl
