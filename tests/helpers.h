// Shared test helpers: value comparison and error-message checks.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <minidl/minidl.h>

/// Checks that `expr` throws minidl::Error whose message contains `text`.
#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(std::string(text).c_str()), minidl::Error)

/// The first line of a test that needs a GPU: where none is visible it prints the marker that
/// tests/CMakeLists.txt gives ctest as SKIP_REGULAR_EXPRESSION, and returns, so that ctest
/// reports the test as skipped, not passed.
#define REQUIRE_CUDA_DEVICE()                                 \
  do {                                                        \
    if (!minidl::cuda::is_available()) {                      \
      std::printf("SKIPPED: no CUDA device visible\n");       \
      return;                                                 \
    }                                                         \
  } while (0)

/// The first line of a test that reads Debian's dataset-fashion-mnist: without it the test says
/// so and returns (make test installs it; a bare `ctest` may run where it is missing).
#define REQUIRE_FASHION_MNIST()                                                                  \
  do {                                                                                           \
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) { \
      MESSAGE("dataset-fashion-mnist is not installed; skipped");                              \
      return;                                                                                    \
    }                                                                                            \
  } while (0)

namespace test {

/// Runs body() once on every CPU kernel path this machine supports (core/cpu_capability.h), with
/// the path named in the test's log, then puts back the path that was in use.
template <typename F>
void for_each_cpu_path(F body) {
  const minidl::CpuCapability saved = minidl::cpu_capability();
  for (minidl::CpuCapability path : minidl::supported_cpu_capabilities()) {
    minidl::set_cpu_capability(path);
    INFO("CPU path ", std::string(minidl::to_string(path)));
    body();
  }
  minidl::set_cpu_capability(saved);
}

/// A fresh directory for one test, removed with everything in it at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / ("minidl_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// Every element of t equals the expected value within tol (absolute), and the shape matches.
inline void check_values(const minidl::Tensor& t, const minidl::Shape& shape, const std::vector<double>& expected,
                         double tol = 1e-6) {
  REQUIRE(minidl::to_string(t.shape()) == minidl::to_string(shape));
  const std::vector<double> got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element ", i, ": got ", got[i], ", expected ", expected[i]);
    CHECK(std::abs(got[i] - expected[i]) <= tol);
  }
}

/// max |a − b| / max |b|: the error relative to the reference tensor's largest magnitude.
inline double max_rel_error(const minidl::Tensor& a, const minidl::Tensor& reference) {
  REQUIRE(minidl::to_string(a.shape()) == minidl::to_string(reference.shape()));
  const std::vector<double> x = a.to_vector<double>(), y = reference.to_vector<double>();
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::isnan(x[i]) ? INFINITY : std::abs(x[i] - y[i]));
    scale = std::max(scale, std::abs(y[i]));
  }
  return diff / scale;
}

/// gradcheck(fn, inputs) in float64 passes with max relative error below `max_rel`.
inline void check_gradcheck(const minidl::GradcheckFn& fn, const std::vector<minidl::Tensor>& inputs,
                            double max_rel = 1e-6) {
  const minidl::GradcheckReport r = minidl::gradcheck(fn, inputs);
  INFO(r.summary());
  CHECK(r.ok());
  CHECK(r.max_rel_error() < max_rel);
}

/// A layer in float64 passes gradcheck with respect to its input and every one of its parameters.
inline void check_layer_gradcheck(minidl::Module& layer, const minidl::Tensor& x, double max_rel = 1e-6) {
  layer.to(minidl::kFloat64);
  minidl::Tensor input = x.detach().clone().requires_grad_();
  std::vector<minidl::Tensor> leaves{input};
  for (const minidl::Tensor& p : layer.parameters()) leaves.push_back(p);
  const minidl::GradcheckReport r = minidl::gradcheck_in_place([&] { return layer(input); }, leaves);
  INFO(layer);
  INFO(r.summary());
  CHECK(r.ok());
  CHECK(r.max_rel_error() < max_rel);
}

}  // namespace test
