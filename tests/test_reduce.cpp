// Reductions: sum, mean, max over dims, keepdim, and errors.
#include "devices.h"

using namespace minidl;

TEST_CASE("sum and mean over all dims and over given dims") {
  Tensor x = arange(24).reshape({2, 3, 4});
  test::check_values(sum(x), {}, {276});
  test::check_values(mean(x), {}, {11.5});
  test::check_values(sum(x, {0}), {3, 4}, {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  test::check_values(sum(x, {-1}), {2, 3}, {6, 22, 38, 54, 70, 86});
  test::check_values(sum(x, {1}, true), {2, 1, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
  test::check_values(sum(x, {0, 2}), {3}, {60, 92, 124});
  test::check_values(mean(x, {0, 2}, true), {1, 3, 1}, {7.5, 11.5, 15.5});
  // the BatchNorm pattern: per channel of NCHW
  Tensor y = ones({2, 3, 2, 2});
  test::check_values(sum(y, {0, 2, 3}), {3}, {8, 8, 8});
  test::check_values(sum(zeros({0, 3}), {0}), {3}, {0, 0, 0});
}

TEST_CASE("float32 sums of many elements keep their precision") {
  Tensor x = full({1 << 22}, 0.1);  // 4M elements
  CHECK(sum(x).item<double>() == doctest::Approx(0.1f * (1 << 22)).epsilon(1e-6));
  Tensor y = full({64, 1 << 16}, 0.1);
  test::check_values(sum(y, {1}), {64}, std::vector<double>(64, 0.1f * (1 << 16)), 1e-2);
}

TEST_CASE("max over all dims and over given dims") {
  Tensor x = from_vector<float>({3, -1, 7, 2, 9, -5}, {2, 3});
  test::check_values(max(x), {}, {9});
  test::check_values(max(x, {0}), {3}, {3, 9, 7});
  test::check_values(max(x, {1}, true), {2, 1}, {7, 9});
  test::check_values(max(-full({3}, 1e30)), {}, {-1e30}, 1e24);
}

TEST_CASE("reductions reject bad dims") {
  Tensor x = zeros({2, 3});
  CHECK_ERROR(sum(x, {2}), "sum: dim 2 is out of range for a tensor of rank 2 (expected -2 <= dim < 2)");
  CHECK_ERROR(sum(x, {1, -1}), "sum: dim -1 appears more than once");
  CHECK_ERROR(max(zeros({0, 3}), {0}), "max: cannot reduce over dim 0 of size 0 in shape [0, 3]");
  CHECK_ERROR(mean(x, {5}), "mean: dim 5 is out of range");
}

TEST_CASE_ON_DEVICES("sum, mean and max over dims equal the float64 CPU op, forward and backward") {
  Generator gen(9);
  const Tensor x = randn({3, 4, 5, 6}, kFloat64, gen);  // no ties: max's gradient is one-hot
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{}, {0}, {1, 3}, {0, 2, 3}, {3}}) {
    CAPTURE(dims.size());
    test::check_against_cpu_float64(target, {x}, [&](const std::vector<Tensor>& in) { return sum(in[0], dims, true); },
                                    target.tolerance());
    test::check_against_cpu_float64(target, {x}, [&](const std::vector<Tensor>& in) { return mean(in[0], dims); },
                                    target.tolerance());
    test::check_against_cpu_float64(target, {x}, [&](const std::vector<Tensor>& in) { return max(in[0], dims); },
                                    target.tolerance());
  }
  // A sum over no values is zero on every device.
  test::check_close(sum(target.put(zeros({0, 3})), {0}), zeros({3}, kFloat64), 1e-300, "empty sum");
}

TEST_CASE_ON_DEVICES("max propagates NaN, over all dims and over one, as in PyTorch") {
  const Tensor x = target.put(from_vector<double>({1, NAN, 3, 4, 5, 6}, {2, 3}));
  CHECK(std::isnan(max(x).item<double>()));
  const std::vector<double> rows = max(x, {1}).to_vector<double>();
  CHECK(std::isnan(rows[0]));
  CHECK(rows[1] == 6);
  const std::vector<double> cols = max(x, {0}).to_vector<double>();
  CHECK(cols[0] == 4);
  CHECK(std::isnan(cols[1]));
  CHECK(cols[2] == 6);
}

TEST_CASE_ON_DEVICES("max's gradient goes to the NaN elements where the max is NaN, as in PyTorch") {
  // PyTorch's max() shares the gradient among the NaN elements (evenly_distribute_backward);
  // along a dim, the NaN row's gradient goes to its NaN.
  Tensor x = target.put(from_vector<double>({1, NAN, 3, NAN, 5, 6}, {2, 3}), true);
  max(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0, 0.5, 0, 0});
  Tensor z = target.put(from_vector<double>({1, NAN, 3, 4, 5, 6}, {2, 3}), true);
  sum(max(z, {1})).backward();
  CHECK(z.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 0, 0, 1});
}
