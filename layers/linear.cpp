#include "linear.h"

#include "init.h"

namespace minidl {

Linear::Linear(int64_t in_features_, int64_t out_features_, bool with_bias)
    : in_features(in_features_), out_features(out_features_) {
  MINIDL_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive feature counts, found (", in_features,
               ", ", out_features, ")");
  weight = Tensor::empty({out_features, in_features});
  init::kaiming_uniform_(weight, in_features);
  register_parameter("weight", weight);
  if (with_bias) {
    bias = Tensor::empty({out_features});
    init::bias_uniform_(bias, in_features);
    register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "True" : "False");
}

}  // namespace minidl
