#include "init.h"

#include <cmath>

#include "../core/factory.h"
#include "../core/kernels.h"

namespace minidl::init {

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  const Tensor u = rand(t.shape(), kFloat64, gen);
  kernels::copy_(t, kernels::binary(kernels::BinaryOp::Add, kernels::scale(u, high - low), scalar_tensor(low, kFloat64)));
}

// kaiming_uniform_(a): bound = gain·√(3/fan_in) with gain = √(2/(1 + a²)); a = √5 gives 1/√fan_in.
void kaiming_uniform_(Tensor& t, int64_t fan_in, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, int64_t fan, Generator& gen) {
  const double std = std::sqrt(2.0 / static_cast<double>(fan));
  kernels::copy_(t, kernels::scale(randn(t.shape(), kFloat64, gen), std));
}

void bias_uniform_(Tensor& t, int64_t fan_in, Generator& gen) {
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  uniform_(t, -bound, bound, gen);
}

}  // namespace minidl::init
