// Parameter initialization, as torch.nn.init does it.
#pragma once

#include "../core/random.h"
#include "../core/tensor.h"

namespace minidl::init {

/// Fills t with U(low, high) in place.
void uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
/// PyTorch's default for Conv2d and Linear weights: kaiming_uniform_(a = √5), which is
/// U(−b, b) with b = 1/√fan_in; fan_in = in_channels · kernel area (or in_features).
void kaiming_uniform_(Tensor& t, int64_t fan_in, Generator& gen = default_generator());
/// N(0, std²) with std = √2 / √fan: torchvision's ResNet init for convolutions
/// (kaiming_normal_, mode="fan_out", nonlinearity="relu"; fan_out = out_channels · kernel area).
void kaiming_normal_(Tensor& t, int64_t fan, Generator& gen = default_generator());
/// PyTorch's default for their biases: U(−1/√fan_in, 1/√fan_in).
void bias_uniform_(Tensor& t, int64_t fan_in, Generator& gen = default_generator());

}  // namespace minidl::init
