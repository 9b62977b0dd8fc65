// The CUDA kernels behind core/kernels.h (internal, like cpu/cpu.h): called by kernels.cpp for
// tensors on a CUDA device, after its argument checks. Each runs on its device's stream.
#pragma once

#include "../kernels.h"

namespace minidl::cuda {

kernels::NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups,
                                        double eps);
kernels::NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                       const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams);

}  // namespace minidl::cuda
