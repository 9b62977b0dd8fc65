// The arithmetic the normalization kernels share on every device (core/cpu/, core/cuda/), in
// one place. Templated on the accumulator: double on the CPU, float for float32 on the GPU.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace minidl::norm_math {

/// The input gradient of a normalized set of M values is
///   dx = rstd·(γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)),   mean(γ·dy·x̂) = rstd·(Σγ·dy·x − mean·Σγ·dy)/M
/// which is dx = γ·rstd·dy + b·x + c per element, with b and c constant over the set:
///   b = −rstd³·(Σγ·dy·x − mean·Σγ·dy)/M,   c = −b·mean − rstd·Σγ·dy/M.
template <typename A>
struct DxCoefficients {
  A b, c;
};

template <typename A>
MINIDL_HOST_DEVICE inline DxCoefficients<A> dx_coefficients(A sum_gdy, A sum_gdy_x, A mean, A rstd, int64_t M) {
  const A inv_m = A(1) / static_cast<A>(M);
  const A b = -rstd * rstd * rstd * (sum_gdy_x - mean * sum_gdy) * inv_m;
  return {b, -b * mean - rstd * sum_gdy * inv_m};
}

}  // namespace minidl::norm_math
