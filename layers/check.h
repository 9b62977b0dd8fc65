// Layer-by-layer gradient checking of a whole model: every module, in forward order, is checked
// on the input it actually receives, with respect to that input and the parameters it holds
// itself, by float64 central differences (gradcheck_in_place). Each parameter is so checked once,
// in the row of the module that owns it, and every block's row checks the gradient that flows
// through all of its children to its input: the whole model is covered without differentiating
// the whole model once per parameter element (which took minutes for resnet20). Each recorded
// input is moved by 1e-4 of its RMS first, so that exact ties (a max-pool's window of zeros after
// a ReLU), where there is no derivative to check, do not occur.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "module.h"

namespace minidl {

struct LayerCheck {
  std::string name;   // dotted name; "(model)" for the whole model
  std::string type;   // "Conv2d", "BasicBlock", ...
  double max_abs_error = 0, max_rel_error = 0;
  std::string worst;  // which tensor had the largest relative error: "input" or a parameter name
  bool ok = true;
};

struct LayerCheckOptions {
  /// Elements checked per tensor (a fixed random sample; 0 = all of them).
  int64_t max_elements = 64;
  double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
  /// Called with each row as soon as it is checked, with the rows done and the rows in all.
  std::function<void(const LayerCheck& row, size_t done, size_t total)> on_row;
};

/// Converts `model` to float64 in place, runs it once on `input` to see which module receives
/// which input, then checks each module on its recorded input. The results come in the order
/// the modules' forwards return: each layer before the block that holds it, the model last — so
/// the first failing row is the innermost culprit.
std::vector<LayerCheck> check_layers(Module& model, const Tensor& input, const LayerCheckOptions& options = {});

/// The same walk, comparing gradients across devices instead of against central differences:
/// each module's analytic gradients (input and parameters, for a fixed random projection of its
/// output) in float64 on the CPU against the same in float32 on `device`. Errors are relative to
/// the largest CPU value of each tensor; a row is ok when all are within `tolerance`. Leaves the
/// model in float32 on `device`.
std::vector<LayerCheck> compare_layers_on_device(Module& model, const Tensor& input, Device device, double tolerance);

}  // namespace minidl
