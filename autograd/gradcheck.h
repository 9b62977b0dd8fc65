// gradcheck: compares autograd's gradients with central differences, in float64.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace minidl {

/// Errors for one input of the checked function.
struct GradcheckInput {
  double max_abs_error = 0;  // max |analytic − numeric|
  double max_rel_error = 0;  // max |analytic − numeric| / max(|analytic|, |numeric|, 1)
  int64_t worst_index = -1;  // flat index of the element with the largest relative error
  double analytic = 0, numeric = 0;  // the two values at worst_index
  bool ok = true;            // every element within atol + rtol·|numeric|
};

struct GradcheckReport {
  std::vector<GradcheckInput> inputs;
  bool ok() const;
  double max_abs_error() const;
  double max_rel_error() const;
  /// One line per input: "input 0 [3, 4]: max abs 1.2e-10, max rel 3.4e-11, ok".
  std::string summary() const;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks d fn / d input for every input (all float64, on the CPU).
///
/// The output is reduced to a scalar L = Σ v·fn(inputs) with a fixed random v, so one
/// backward gives vᵀJ; each element of it is compared with the central difference
/// (L(x + eps) − L(x − eps)) / 2eps. An element outside tolerance is measured again with
/// eps/10 and eps/100 and the closest value kept: a perturbation that crosses a kink (ReLU
/// at 0) errs at one step size only, a wrong backward at all of them. Inputs are not modified.
///   auto r = gradcheck([](auto& in) { return in[0] * in[1]; }, {a, b});
///   CHECK(r.max_rel_error() < 1e-6);
GradcheckReport gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps = 1e-6,
                          double atol = 1e-5, double rtol = 1e-3);

/// The same check for tensors that fn reads by itself — a module's parameters, say:
/// `leaves` are float64 leaf tensors that require grad; they are perturbed in place and
/// restored, and their .grad() is left undefined afterwards.
///   auto r = gradcheck_in_place([&] { return conv(x); }, {x, conv.weight, conv.bias});
/// max_elements > 0 checks at most that many elements of each tensor, a fixed random sample
/// (the analytic gradient is still computed whole): how large layers are checked in seconds.
GradcheckReport gradcheck_in_place(const std::function<Tensor()>& fn, const std::vector<Tensor>& leaves,
                                   double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, int64_t max_elements = 0);

}  // namespace minidl
