// Winograd's minimal filtering F(2x2, 3x3) for stride-1 3x3 convolutions (Lavin & Gray, 2016):
// each 2x2 block of outputs of each (out channel, in channel) pair costs 16 multiplications
// instead of 36. With the transforms
//   weights  U = G·g·Gᵀ   (4x4 from the 3x3 kernel g)     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   inputs   V = Bᵀ·d·B   (4x4 from a 4x4 input tile d)   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//   outputs  Y = Aᵀ·M·A   (2x2 from a 4x4 product M)      Aᵀ = [1 1 1 0; 0 1 −1 −1]
// the convolution becomes, for each of the 16 positions e of the 4x4 tiles, one GEMM over the
// channels: M[e][k][tile] = Σ_c U[e][k][c] · V[e][c][tile]. Tiles of neighbouring outputs overlap
// by two input rows and columns. The ½ in G is exact in binary, so the only rounding beyond the
// direct convolution's is that of the transforms' additions (tests/test_conv.cpp states the
// bound). conv.cpp picks this or the direct kernel per shape.
#pragma once

#include <cstdint>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// y[N, K, P, Q] (+ bias[K] when not null) = the stride-1 3x3 convolution of x[N, C, H, W]
/// padded by ph rows and pw columns (0 to 2) with w[K, C, 3, 3]; P = H + 2·ph − 2, Q = W + 2·pw − 2.
template <typename T>
void winograd_conv3x3(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, int64_t K, int64_t ph,
                      int64_t pw, const T* bias, T* y);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
