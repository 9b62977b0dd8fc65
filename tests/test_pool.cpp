// Max, average and adaptive-average pooling on every device, against plain loops, the float64
// CPU op, PyTorch's fixtures and gradcheck.
#include "devices.h"
#include "fixtures.h"
#include "reference.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;

// Values without ties (so that max pooling is differentiable where it is checked).
Tensor untied(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return arange(static_cast<double>(numel(shape)), kFloat64).reshape(shape) * 0.01 + randn(shape, kFloat64, gen) * 1e-3;
}

}  // namespace

TEST_CASE_ON_DEVICES("max and average pooling equal a plain loop, with stride and padding") {
  Generator gen(1);
  const Tensor x = randn({2, 3, 9, 8}, kFloat64, gen);
  const std::vector<double> xr = x.to(target.dtype).to_vector<double>();
  struct Case {
    int64_t kernel, stride, pad;
  };
  for (const Case& c : {Case{3, 2, 1}, Case{2, 2, 0}, Case{3, 1, 1}, Case{1, 1, 0}}) {
    CAPTURE(c.kernel);
    CAPTURE(c.stride);
    CAPTURE(c.pad);
    for (bool is_max : {true, false}) {
      CAPTURE(is_max);
      const Tensor y = is_max ? max_pool2d(target.put(x), c.kernel, c.stride, c.pad) : avg_pool2d(target.put(x), c.kernel, c.stride, c.pad);
      const std::vector<double> expected = test::reference::pool2d(xr, 6, 9, 8, c.kernel, c.stride, c.pad, is_max);
      test::check_close(y, from_vector(expected, y.shape()), target.tolerance(), "y");
    }
  }
  for (const std::pair<int64_t, int64_t>& out : {std::pair<int64_t, int64_t>{1, 1}, {4, 3}, {9, 8}, {2, 5}}) {
    const int64_t P = out.first, Q = out.second;
    CAPTURE(P);
    CAPTURE(Q);
    const Tensor y = adaptive_avg_pool2d(target.put(x), P, Q);
    test::check_close(y, from_vector(test::reference::adaptive_avg_pool2d(xr, 6, 9, 8, P, Q), {2, 3, P, Q}),
                      target.tolerance(), "adaptive y");
  }
}

TEST_CASE_ON_DEVICES("pooling forward and backward equal the float64 CPU op") {
  const Tensor x = untied({4, 6, 9, 7}, 11);
  test::check_against_cpu_float64(target, {x}, [](In t) { return max_pool2d(t[0], 3, 2, 1); }, target.tolerance());
  test::check_against_cpu_float64(target, {x}, [](In t) { return avg_pool2d(t[0], 3, 2, 1); }, target.tolerance());
  test::check_against_cpu_float64(target, {x}, [](In t) { return adaptive_avg_pool2d(t[0], 2, 3); }, target.tolerance());
}

TEST_CASE_ON_DEVICES_WITH("pooling matches PyTorch", kFloat32) {
  auto compare = [&](const std::string& name, const test::OpFn& fn) {
    test::compare_with_torch("layers", name, 1, fn, target.device);
  };
  compare("max_pool_3_s2_p1", [](In x) { return max_pool2d(x[0], 3, 2, 1); });
  compare("max_pool_2", [](In x) { return max_pool2d(x[0], 2); });
  compare("avg_pool_3_s2_p1", [](In x) { return avg_pool2d(x[0], 3, 2, 1); });
  compare("avg_pool_2", [](In x) { return avg_pool2d(x[0], 2); });
  compare("adaptive_avg_1x1", [](In x) { return adaptive_avg_pool2d(x[0]); });
  compare("adaptive_avg_4x3", [](In x) { return adaptive_avg_pool2d(x[0], 4, 3); });
}

TEST_CASE_ON_DEVICES("max pooling propagates NaN and sends its gradient to the NaN, as in PyTorch") {
  // One plane of 4x4, 2x2 windows: the top-left window holds a NaN, the others do not.
  std::vector<double> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  v[1 * 4 + 0] = NAN;
  Tensor x = target.put(from_vector<double>(v, {1, 1, 4, 4}), true);
  const Tensor y = max_pool2d(x, 2);
  const std::vector<double> out = y.to_vector<double>();
  CHECK(std::isnan(out[0]));
  CHECK(out[1] == 7);
  CHECK(out[3] == 15);
  sum(y * target.put(from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2}))).backward();
  std::vector<double> expected(16, 0.0);
  expected[1 * 4 + 0] = 1;  // the NaN, not the window's largest number (5)
  expected[1 * 4 + 3] = 2;
  expected[3 * 4 + 1] = 3;
  expected[3 * 4 + 3] = 4;
  CHECK(x.grad().to_vector<double>() == expected);
}

TEST_CASE("gradcheck: max, average and adaptive pooling") {
  const Tensor x = untied({2, 3, 9, 8}, 15);
  Generator gen(16);
  test::check_gradcheck([](In in) { return max_pool2d(in[0], 3, 2, 1); }, {x});
  test::check_gradcheck([](In in) { return max_pool2d(in[0], 2); }, {randn({2, 2, 6, 6}, kFloat64, gen)});
  test::check_gradcheck([](In in) { return avg_pool2d(in[0], 3, 2, 1); }, {x});
  test::check_gradcheck([](In in) { return avg_pool2d(in[0], 2); }, {x});
  test::check_gradcheck([](In in) { return adaptive_avg_pool2d(in[0]); }, {x});
  test::check_gradcheck([](In in) { return adaptive_avg_pool2d(in[0], 4, 3); }, {x});
}

TEST_CASE("pooling rejects windows that do not fit") {
  CHECK_ERROR(max_pool2d(zeros({1, 1, 4, 4}), 3, 1, 2), "max_pool2d: padding 2 must be at most half the kernel size 3");
  CHECK_ERROR(avg_pool2d(zeros({1, 1, 2, 2}), 5), "avg_pool2d: a 5x5 window with padding 0 does not fit a 2x2 input");
  CHECK_ERROR(max_pool2d(zeros({4, 4}), 2), "max_pool2d: expected a 4-D input [N, C, H, W], found shape [4, 4]");
  CHECK_ERROR(adaptive_avg_pool2d(zeros({1, 1, 4, 4}), 0, 1), "adaptive_avg_pool2d: expected an output size > 0, found 0x1");
}
