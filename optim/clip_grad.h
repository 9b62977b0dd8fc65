// Gradient clipping by the global norm (PyTorch's torch.nn.utils.clip_grad_norm_).
#pragma once

#include <vector>

#include "../core/tensor.h"

namespace minidl {

/// The L2 norm of all `params`' gradients taken together, ‖(g₁, g₂, …)‖₂; when it exceeds
/// `max_norm`, every gradient is scaled in place by max_norm / (norm + 1e-6). Returns the norm
/// before clipping (NaN or inf when a gradient is not finite: nothing is scaled then).
/// Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

}  // namespace minidl
