// The graph node GroupNorm and BatchNorm both record: it keeps the input, the statistics
// (mean, rstd) and the weight — not a copy of the normalized tensor — and its backward asks the
// op's backward kernel for the gradients that are needed.
#pragma once

#include "../../core/kernels.h"
#include "../variable.h"

namespace minidl {

/// backward(dy, x, mean, rstd, weight, need_dx, need_dparams) -> kernels::NormGrads.
template <typename Backward>
Tensor record_norm(const char* name, const kernels::NormForward& f, const Tensor& x, const Tensor& weight,
                   const Tensor& bias, Backward backward) {
  return record(name, f.y, {x, weight, bias},
                [x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(), mean = f.mean, rstd = f.rstd,
                 backward](const Tensor& g, const Needs& needs) -> Grads {
                  const kernels::NormGrads d = backward(g, x, mean, rstd, w, needs[0], needs[1] || needs[2]);
                  return {d.dx, d.dweight, d.dbias};
                });
}

}  // namespace minidl
