// The types every layer of the kernel contract shares: the dispatcher (core/kernels/*.cpp), the
// backends (core/cpu/, core/cuda/) and the differentiable ops above them (autograd/ops/).
// Dims: N batch, C channels, H W input size, K output channels, R S kernel size,
// P Q output size, G groups, HW = H·W.
#pragma once

#include <cstdint>

#include "../tensor.h"

namespace minidl {

/// A typed pointer to t's data, or nullptr for an undefined (optional) tensor: a bias, an
/// affine weight, a gradient not asked for.
template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace minidl

namespace minidl::kernels {

/// Elementwise binary ops with NumPy broadcasting.
/// Eq gives 1 where a == b else 0; ReluGrad(grad, x) gives grad where x > 0 else 0.
enum class BinaryOp { Add, Sub, Mul, Div, Eq, IsMax, ReluGrad };
enum class UnaryOp { Neg, Relu, Exp, Log, Sqrt };
enum class Reduction { Sum, Max };

/// Geometry of a 2-D convolution or pooling window.
struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  /// Output size along one dim: floor((in + 2·pad − kernel) / stride) + 1.
  static int64_t out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
    return (in + 2 * pad - kernel) / stride + 1;
  }
};

/// A convolution's gradients; a backend fills those that are defined (the ones asked for).
struct Conv2dGrads {
  Tensor dx, dw, dbias;
};

/// Output and the statistics a normalization's backward needs: mean and rstd = 1/sqrt(var + eps),
/// [N, G] for GroupNorm, [C] for BatchNorm.
struct NormForward {
  Tensor y, mean, rstd;
};
/// What a normalization's output goes through in the same pass over memory, as a ResNet block
/// uses it: y = relu(norm(x) + residual) — relu(bn(x)) after a block's first convolution,
/// relu(bn(x) + shortcut) where a block ends (torch.ao.nn.intrinsic's BNReLU2d, and the add).
/// The default is the plain norm.
struct NormEpilogue {
  Tensor residual;  // like x, or undefined
  bool relu = false;
};
/// An eval-mode BatchNorm2d's parameters (weight, bias may be undefined; running statistics
/// defined): y = (x − running_mean)/sqrt(running_var + eps)·weight + bias per channel, the
/// convolution's output pass applies it in inference (conv2d_batch_norm_eval).
struct BatchNormEval {
  Tensor weight, bias, running_mean, running_var;
  double eps = 1e-5;
};
/// A GroupNorm's parameters (weight, bias [C] or undefined): the convolution's forward applies it
/// to each sample as soon as it has written it, in inference (conv2d_group_norm).
struct GroupNormParams {
  Tensor weight, bias;
  int64_t groups = 1;
  double eps = 1e-5;
};
/// A normalization's gradients; defined where asked for (dweight, dbias [C]; dresidual like x,
/// the gradient reaching the epilogue's residual).
struct NormGrads {
  Tensor dx, dweight, dbias, dresidual;
};

/// Max pooling's output and `indices` [N, C, P, Q] (int64): the flat h·W + w of each maximum.
struct MaxPoolForward {
  Tensor y, indices;
};

/// Cross-entropy's scalar loss and log p [N, K] (for backward).
struct CrossEntropyForward {
  Tensor loss, log_probs;
};

}  // namespace minidl::kernels
