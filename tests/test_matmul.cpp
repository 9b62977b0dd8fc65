// Matrix product (our GEMM on the CPU, core/cpu/gemm.cpp) and transpose.
#include "helpers.h"

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
