// Matrix product (our GEMM on the CPU, core/cpu/gemm.cpp; cuBLAS on CUDA), transpose, and linear.
#include <minidl/core/kernels.h>

#include "devices.h"
#include "fixtures.h"

using namespace minidl;

TEST_CASE("matmul multiplies 2-D tensors in float32 and float64") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor a = arange(6, dtype).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
    Tensor b = arange(6, dtype).reshape({3, 2});  // [[0, 1], [2, 3], [4, 5]]
    test::check_values(matmul(a, b), {2, 2}, {10, 13, 28, 40});
    test::check_values(matmul(b, a), {3, 3}, {3, 4, 5, 9, 14, 19, 15, 24, 33});
  }
  test::check_values(matmul(zeros({2, 0}), zeros({0, 3})), {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST_CASE("transpose swaps the two dims into a contiguous copy") {
  Tensor x = arange(6).reshape({2, 3});
  test::check_values(transpose(x), {3, 2}, {0, 3, 1, 4, 2, 5});
  Tensor big = randn({70, 45});
  Tensor t = transpose(big);
  CHECK(t.at<float>({44, 69}) == big.at<float>({69, 44}));
  CHECK(t.at<float>({3, 40}) == big.at<float>({40, 3}));
  test::check_values(transpose(transpose(big)), {70, 45}, big.to_vector<double>(), 0);
}

TEST_CASE("matmul and transpose reject bad shapes") {
  CHECK_ERROR(matmul(zeros({2, 3}), zeros({2, 3})), "matmul: inner sizes differ: [2, 3] · [2, 3] (3 vs 2)");
  CHECK_ERROR(matmul(zeros({2, 3, 1}), zeros({3, 2})), "matmul: expected two 2-D tensors, found shapes [2, 3, 1] and [3, 2]");
  CHECK_ERROR(matmul(zeros({2, 3}), zeros({3, 2}, kFloat64)), "matmul: expected both tensors of one dtype");
  CHECK_ERROR(transpose(zeros({3})), "transpose: expected a 2-D tensor, found shape [3]");
}

namespace {
using In = const std::vector<Tensor>&;
}  // namespace

TEST_CASE_ON_DEVICES("matmul (every transpose), transpose and linear equal the float64 CPU op") {
  Generator gen(9);
  const Tensor a = randn({7, 33}, kFloat64, gen), b = randn({33, 5}, kFloat64, gen);
  test::check_against_cpu_float64(target, {a, b}, [](In x) { return matmul(x[0], x[1]); }, target.tolerance());
  test::check_against_cpu_float64(target, {a, b}, [](In x) { return matmul(transpose(x[1]), transpose(x[0])); },
                                  target.tolerance());
  // The kernel's transpose flags: bᵀ·aᵀ = (a·b)ᵀ.
  test::check_close(kernels::matmul(target.put(b), target.put(a), true, true), transpose(matmul(a, b)),
                    target.tolerance(), "matmul with both operands transposed");
  const Tensor w = randn({5, 33}, kFloat64, gen), bias = randn({5}, kFloat64, gen);
  test::check_against_cpu_float64(target, {a, w, bias}, [](In x) { return linear(x[0], x[1], x[2]); }, target.tolerance());
  test::check_close(matmul(target.put(zeros({3, 0})), target.put(zeros({0, 2}))), zeros({3, 2}, kFloat64), 1e-300,
                    "empty inner dim");
}

TEST_CASE_ON_DEVICES_WITH("linear matches PyTorch", kFloat32) {
  test::compare_with_torch("layers", "linear", 3, [](In x) { return linear(x[0], x[1], x[2]); }, target.device);
}

TEST_CASE("gradcheck: linear, with and without bias, and the layer") {
  Generator gen(17);
  test::check_gradcheck([](In in) { return linear(in[0], in[1], in[2]); },
                        {randn({5, 7}, kFloat64, gen), randn({4, 7}, kFloat64, gen), randn({4}, kFloat64, gen)});
  test::check_gradcheck([](In in) { return linear(in[0], in[1]); }, {randn({2, 3, 7}, kFloat64, gen), randn({4, 7}, kFloat64, gen)});
  Linear fc(6, 3);
  test::check_layer_gradcheck(fc, randn({4, 6}, kFloat64, gen));
}

TEST_CASE("linear rejects mismatched shapes") {
  CHECK_ERROR(linear(zeros({2, 5}), zeros({3, 4})), "linear: input has 5 features but the weight expects 4");
}
