#include "batch_norm.h"

#include <algorithm>
#include <sstream>

#include "../core/factory.h"

namespace minidl {

BatchNorm2d::BatchNorm2d(int64_t num_features_, double eps_, double momentum_, bool affine, bool track_running_stats,
                         int64_t virtual_batch_size_)
    : num_features(num_features_), eps(eps_), momentum(momentum_), virtual_batch_size(virtual_batch_size_) {
  MINIDL_CHECK(num_features > 0, "BatchNorm2d: expected num_features > 0, found ", num_features);
  MINIDL_CHECK(virtual_batch_size >= 0, "BatchNorm2d: expected virtual_batch_size >= 0, found ", virtual_batch_size);
  if (affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

Tensor BatchNorm2d::forward(const Tensor& x) { return forward(x, {}); }

Tensor BatchNorm2d::forward(const Tensor& x, const NormEpilogue& then) {
  MINIDL_CHECK(x.defined() && x.dim() == 4, "expected a 4-D input [N, C, H, W], found ",
               x.defined() ? to_string(x.shape()) : "undefined");
  MINIDL_CHECK(x.size(1) == num_features, "expected ", num_features, " channels, found ", x.size(1), " (input ",
               to_string(x.shape()), ")");
  if (is_training()) {
    const int64_t n = x.size(0), b = virtual_batch_size;
    Tensor y;
    if (b > 0 && n > b) {
      std::vector<Tensor> slices;
      for (int64_t start = 0; start < n; start += b) {
        const int64_t size = std::min(b, n - start);
        const Tensor r = then.residual.defined() ? narrow(then.residual, 0, start, size) : Tensor();
        slices.push_back(batch_norm(narrow(x, 0, start, size), running_mean, running_var, weight, bias,
                                    /*training=*/true, momentum, eps, {r, then.relu}));
      }
      y = cat(slices);
    } else {
      y = batch_norm(x, running_mean, running_var, weight, bias, /*training=*/true, momentum, eps, then);
    }
    if (num_batches_tracked.defined()) ++num_batches_tracked.data<int64_t>()[0];
    return y;
  }
  // Eval normalizes with the running statistics, or with the batch's when the layer keeps none.
  return batch_norm(x, running_mean, running_var, weight, bias, /*training=*/!running_mean.defined(), momentum, eps,
                    then);
}

std::string BatchNorm2d::extra_repr() const {
  std::ostringstream os;
  os << num_features << ", eps=" << eps << ", momentum=" << momentum << ", affine=" << (weight.defined() ? "True" : "False")
     << ", track_running_stats=" << (running_mean.defined() ? "True" : "False");
  if (virtual_batch_size > 0) os << ", virtual_batch_size=" << virtual_batch_size;
  return os.str();
}

}  // namespace minidl
