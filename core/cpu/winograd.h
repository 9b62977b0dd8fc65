// Winograd's minimal filtering F(m x m, 3x3) for stride-1 3x3 convolutions (Lavin & Gray, 2016),
// m = 2 or 4: each m x m block of outputs of each (out channel, in channel) pair costs α² = (m + 2)²
// multiplications instead of 9·m² — 16 instead of 36 for m = 2, 36 instead of 144 for m = 4. With
// the transforms (the matrices are in winograd.cpp's 1-D functions)
//   weights  U = G·g·Gᵀ   (α x α from the 3x3 kernel g)
//   inputs   V = Bᵀ·d·B   (α x α from an α x α input tile d)
//   outputs  Y = Aᵀ·M·A   (m x m from an α x α product M)
// the convolution becomes, for each of the α² positions e of the tiles, one GEMM over the
// channels: M[e][k][tile] = Σ_c U[e][k][c] · V[e][c][tile]. Tiles of neighbouring outputs overlap
// by two input rows and columns. F(2x2)'s G holds only ½ (exact in binary), so its rounding
// beyond the direct convolution's is the transforms' additions; F(4x4)'s G holds ⅙ and 1/24 and
// its Bᵀ and Aᵀ multiply by up to 8, so it rounds more (tests/test_conv.cpp states both bounds).
// conv.cpp picks one of them or the direct kernel per shape.
#pragma once

#include <cstdint>

#include "capability.h"
#include "conv_output.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// Where the kernels of a convolution from C to K channels lie: w[K, C, 3, 3] (the forward's), or
/// w[C, K, 3, 3] each turned by 180° — a forward's weights read in place as its backward-data's
/// (dx = dy convolved with w[k, c] flipped, K and C swapped).
enum class KernelLayout { Forward, Flipped };

/// y[N, K, P, Q] = the stride-1 3x3 convolution of x[N, C, H, W] padded by ph rows and pw columns
/// (0 to 2) with the kernels w (`layout`), by F(m x m, 3x3), m = 2 or 4, through `out` (bias, or a
/// folded eval BatchNorm: conv_output.h); P = H + 2·ph − 2, Q = W + 2·pw − 2.
template <typename T>
void winograd_conv3x3(int m, const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, KernelLayout layout,
                      int64_t K, int64_t ph, int64_t pw, const OutputPass<T>& out, T* y);

/// dw[K, C, 3, 3] = the weight gradient of that convolution, from x and dy[N, K, P, Q], by
/// F(m x m, 3x3): the products in the transformed domain, summed over samples in a fixed order.
template <typename T>
void winograd_weight_grad3x3(int m, const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* dy, int64_t K,
                             int64_t ph, int64_t pw, T* dw);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
