// minidl against PyTorch 1.13 on committed fixtures (tests/fixtures/make_core_fixtures.py):
// the same expression on the same float32 inputs gives the same output and the same input
// gradients, within a relative error of 1e-4.
#include "fixtures.h"

using namespace minidl;

namespace {

void compare_with_torch(const std::string& name, size_t num_inputs,
                        const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  test::compare_with_torch("core", name, num_inputs, fn);
}

using In = const std::vector<Tensor>&;

}  // namespace

TEST_CASE("elementwise ops and broadcasting match PyTorch") {
  compare_with_torch("broadcast", 3, [](In x) { return (x[0] + x[1]) * x[2] - x[0] / (x[1] * x[1] + 1.0); });
  compare_with_torch("per_channel", 3, [](In x) { return x[0] * x[1] + x[2]; });
  compare_with_torch("unary", 1, [](In x) {
    return exp(x[0] * 0.5) + log(x[0]) + sqrt(x[0]) + pow(x[0], 1.5) - relu(x[0] - 1.0) - x[0];
  });
}

TEST_CASE("reductions match PyTorch") {
  compare_with_torch("reduce_sum", 1, [](In x) { return sum(x[0], {0, 2, 3}, true) * 2.0; });
  compare_with_torch("reduce_mean", 1, [](In x) { return mean(x[0], {1}); });
  compare_with_torch("reduce_max", 1, [](In x) { return max(x[0].reshape({6, -1}), {1}); });
}

TEST_CASE("matmul, transpose and a small MLP match PyTorch") {
  compare_with_torch("matmul", 2, [](In x) { return transpose(matmul(x[0], x[1])); });
  compare_with_torch("mlp", 4, [](In x) { return sum(matmul(relu(matmul(x[0], x[1]) + x[2]), x[3]), {0}); });
}
