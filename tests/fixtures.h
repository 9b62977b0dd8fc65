// Comparing minidl with the committed PyTorch fixtures (tests/fixtures/make_*_fixtures.py).
#pragma once

#include <functional>
#include <string>

#include "helpers.h"

namespace test {

/// float32 results must match PyTorch's within this relative error (see max_rel_error).
constexpr double kTorchTolerance = 1e-4;

/// Loads tests/fixtures/<dir>/<name>.npy.
inline minidl::Tensor fixture(const std::string& dir, const std::string& name) {
  return minidl::load_npy(std::string(MINIDL_SOURCE_DIR) + "/tests/fixtures/" + dir + "/" + name + ".npy");
}

inline void check_matches(const minidl::Tensor& got, const minidl::Tensor& reference, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  CHECK(max_rel_error(got, reference) < kTorchTolerance);
}

/// Runs fn on the case's inputs NAME_in<i> (as leaves requiring grad), compares the output with
/// NAME_out, backpropagates NAME_gout and compares each input's gradient with NAME_grad<i>.
/// On `device` when given (the fixtures' float32 values copied there).
inline void compare_with_torch(const std::string& dir, const std::string& name, size_t num_inputs,
                               const std::function<minidl::Tensor(const std::vector<minidl::Tensor>&)>& fn,
                               minidl::Device device = minidl::Device::cpu()) {
  CAPTURE(name);
  std::vector<minidl::Tensor> inputs;
  for (size_t i = 0; i < num_inputs; ++i)
    inputs.push_back(fixture(dir, name + "_in" + std::to_string(i)).to(device).detach().requires_grad_());
  minidl::Tensor out = fn(inputs);
  check_matches(out, fixture(dir, name + "_out"), name + ": output");
  out.backward(fixture(dir, name + "_gout").to(device));
  for (size_t i = 0; i < num_inputs; ++i)
    check_matches(inputs[i].grad(), fixture(dir, name + "_grad" + std::to_string(i)),
                  name + ": gradient of input " + std::to_string(i));
}

}  // namespace test
