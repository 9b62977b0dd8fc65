// The graph node GroupNorm and BatchNorm both record: it keeps the input, the statistics
// (mean, rstd) and the weight — not a copy of the normalized tensor — and its backward asks the
// op's backward kernel for the gradients that are needed. With a fused ReLU it also keeps the
// op's output (the mask of the gradient, as relu's node does); a ResNet keeps that tensor anyway,
// as the next convolution's input.
#pragma once

#include "../../core/kernels.h"
#include "../variable.h"

namespace minidl {

/// backward(dy, x, mean, rstd, weight, need_dx, need_dparams, relu_y, need_dresidual) -> kernels::NormGrads.
/// Inputs x, weight, bias and then.residual.
template <typename Backward>
Tensor record_norm(const char* name, const kernels::NormForward& f, const Tensor& x, const Tensor& weight,
                   const Tensor& bias, const kernels::NormEpilogue& then, Backward backward) {
  return record(name, f.y, {x, weight, bias, then.residual},
                [x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(), mean = f.mean, rstd = f.rstd,
                 relu_y = then.relu ? f.y.detach() : Tensor(), residual = then.residual.defined(),
                 backward](const Tensor& g, const Needs& needs) -> Grads {
                  // Without the ReLU the residual's gradient is g itself.
                  const bool dresidual_by_kernel = residual && needs[3] && relu_y.defined();
                  const kernels::NormGrads d =
                      backward(g, x, mean, rstd, w, needs[0], needs[1] || needs[2], relu_y, dresidual_by_kernel);
                  const Tensor dresidual = !residual || !needs[3] ? Tensor() : relu_y.defined() ? d.dresidual : g;
                  return {d.dx, d.dweight, d.dbias, dresidual};
                });
}

}  // namespace minidl
