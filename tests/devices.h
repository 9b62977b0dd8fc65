// Each op's cases are written once and run on every device the build has, in float32 and
// float64, against a float64 reference computed on the CPU.
//
//   TEST_CASE_ON_DEVICES("group_norm equals a plain loop") { ... target.device, target.dtype ... }
//
// defines two doctest cases, "... [cpu]" and "... [cuda]", each running the body once per dtype;
// the CUDA one is reported as skipped where no GPU is visible (REQUIRE_CUDA_DEVICE). The
// PyTorch fixtures are float32: TEST_CASE_ON_DEVICES_WITH(name, minidl::kFloat32) runs those.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "helpers.h"

namespace test {

/// Where a case runs.
struct Target {
  minidl::Device device;
  minidl::DType dtype;
  /// The allowed error, scaled by the reference's magnitude (see scaled_error): float32's
  /// rounding (`f32`, by default 1e-5) or float64's.
  double tolerance(double f32 = 1e-5) const { return dtype == minidl::kFloat64 ? 1e-10 : f32; }
  /// A float64 CPU tensor's values on this target, as a new leaf (requiring grad when asked).
  minidl::Tensor put(const minidl::Tensor& reference, bool requires_grad = false) const {
    minidl::Tensor t = reference.to(dtype).to(device).detach();
    return requires_grad ? t.requires_grad_() : t;
  }
};

/// body() on every CPU path (for_each_cpu_path) when the target is the CPU, once otherwise: each
/// path has its own kernels and its own choices between them.
inline void on_each_path_of(const Target& target, const std::function<void()>& body) {
  if (target.device.is_cpu())
    for_each_cpu_path(body);
  else
    body();
}

inline std::string to_string(const Target& t) { return minidl::to_string(t.device) + " " + minidl::to_string(t.dtype); }

/// Largest |a − b| over max(1, max |b|), b the float64 reference (NaN in a counts as infinite).
inline double scaled_error(const minidl::Tensor& a, const minidl::Tensor& b) {
  REQUIRE(minidl::to_string(a.shape()) == minidl::to_string(b.shape()));
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0, scale = 1;
  for (double v : y) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::isnan(x[i]) ? INFINITY : std::abs(x[i] - y[i]));
  return worst / scale;
}

inline void check_close(const minidl::Tensor& got, const minidl::Tensor& reference, double tolerance,
                        const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  CHECK(scaled_error(got, reference) < tolerance);
}

using Inputs = const std::vector<minidl::Tensor>&;
using OpFn = std::function<minidl::Tensor(Inputs)>;

/// Runs fn on `inputs` (float64 CPU leaves) and on the same values on `target`, backpropagates one
/// upstream gradient through both, and checks the output and every input's gradient. With
/// `reference`, the float64 side runs that instead (a fused op against its parts).
inline void check_against_cpu_float64(const Target& target, const std::vector<minidl::Tensor>& inputs, const OpFn& fn,
                                      double tolerance, const OpFn& reference = nullptr) {
  std::vector<minidl::Tensor> ref, on_target;
  for (const minidl::Tensor& x : inputs) {
    ref.push_back(x.detach().clone().requires_grad_());
    on_target.push_back(target.put(x, true));
  }
  minidl::Tensor y_ref = (reference ? reference : fn)(ref), y = fn(on_target);
  CHECK(y.device() == target.device);
  CHECK(y.dtype() == target.dtype);
  check_close(y, y_ref, tolerance, "output");
  minidl::Generator gen(static_cast<uint64_t>(y_ref.numel()) + 1);
  const minidl::Tensor upstream = minidl::randn(y_ref.shape(), minidl::kFloat64, gen);
  y_ref.backward(upstream);
  y.backward(target.put(upstream));
  for (size_t i = 0; i < inputs.size(); ++i) check_close(on_target[i].grad(), ref[i].grad(), tolerance, "gradient of input " + std::to_string(i));
}

}  // namespace test

#define MINIDL_TEST_CAT2(a, b) a##b
#define MINIDL_TEST_CAT(a, b) MINIDL_TEST_CAT2(a, b)
#define MINIDL_DEVICE_CASE MINIDL_TEST_CAT(minidl_device_case_, __LINE__)

/// TEST_CASE_ON_DEVICES_WITH(name, dtypes...): the body runs once per listed dtype on each device.
#define TEST_CASE_ON_DEVICES_WITH(name, ...)                                       \
  static void MINIDL_DEVICE_CASE(const test::Target& target);                      \
  TEST_CASE(name " [cpu]") {                                                       \
    for (minidl::DType dtype : {__VA_ARGS__}) {                                    \
      CAPTURE(minidl::to_string(dtype));                                           \
      MINIDL_DEVICE_CASE(test::Target{minidl::Device::cpu(), dtype});              \
    }                                                                              \
  }                                                                                \
  TEST_CASE(name " [cuda]") {                                                      \
    REQUIRE_CUDA_DEVICE();                                                         \
    for (minidl::DType dtype : {__VA_ARGS__}) {                                    \
      CAPTURE(minidl::to_string(dtype));                                           \
      MINIDL_DEVICE_CASE(test::Target{minidl::Device::cuda(0), dtype});            \
    }                                                                              \
  }                                                                                \
  static void MINIDL_DEVICE_CASE(const test::Target& target)

#define TEST_CASE_ON_DEVICES(name) TEST_CASE_ON_DEVICES_WITH(name, minidl::kFloat32, minidl::kFloat64)
