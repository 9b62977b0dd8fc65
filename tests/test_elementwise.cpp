// Elementwise ops: forward values computed by hand, broadcasting, and errors.
#include <cmath>

#include <minidl/core/kernels.h>

#include "devices.h"

using namespace minidl;

TEST_CASE("add, sub, mul, div on same shapes and with scalars") {
  Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector<float>({10, 20, 30, 40}, {2, 2});
  test::check_values(a + b, {2, 2}, {11, 22, 33, 44});
  test::check_values(b - a, {2, 2}, {9, 18, 27, 36});
  test::check_values(a * b, {2, 2}, {10, 40, 90, 160});
  test::check_values(b / a, {2, 2}, {10, 10, 10, 10});
  test::check_values(a * 2.0, {2, 2}, {2, 4, 6, 8});
  test::check_values(1.0 - a, {2, 2}, {0, -1, -2, -3});
  test::check_values(a / 4.0, {2, 2}, {0.25, 0.5, 0.75, 1});
  test::check_values(12.0 / a, {2, 2}, {12, 6, 4, 3});
  test::check_values(a + scalar_tensor(0.5), {2, 2}, {1.5, 2.5, 3.5, 4.5});
}

TEST_CASE("broadcasting follows NumPy's rules") {
  // per-channel NCHW: [2, 3, 1, 2] + [1, 3, 1, 1]
  Tensor x = arange(12).reshape({2, 3, 1, 2});
  Tensor c = from_vector<float>({100, 200, 300}, {1, 3, 1, 1});
  test::check_values(x + c, {2, 3, 1, 2}, {100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311});
  // column [3, 1] times row [1, 4] gives an outer product
  Tensor col = from_vector<float>({1, 2, 3}, {3, 1});
  Tensor row = from_vector<float>({1, 10, 100, 1000}, {1, 4});
  test::check_values(col * row, {3, 4}, {1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000});
  // missing leading dims count as 1: [4] against [2, 1, 4]
  Tensor v = from_vector<float>({1, 2, 3, 4});
  test::check_values(zeros({2, 1, 4}) - v, {2, 1, 4}, {-1, -2, -3, -4, -1, -2, -3, -4});
  // a scalar on the left
  test::check_values(scalar_tensor(1) / from_vector<float>({2, 4}), {2}, {0.5, 0.25});
  // size-0 dims broadcast too
  CHECK(to_string((zeros({0, 3}) + zeros({3})).shape()) == "[0, 3]");
}

TEST_CASE("broadcasting on large tensors matches a plain loop (the OpenMP path)") {
  Generator g(5);
  Tensor x = randn({72, 16, 32, 32}, kFloat32, g);  // above stream_grain() (2^15 or 2^20 values)
  Tensor s = randn({1, 16, 1, 1}, kFloat32, g);
  Tensor y = x * s;
  const std::vector<float> px = x.to_vector<float>(), ps = s.to_vector<float>(), py = y.to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < px.size(); ++i) bad += py[i] != px[i] * ps[(i / 1024) % 16];
  CHECK(bad == 0);
}

TEST_CASE("long rows are split between threads in blocks, same values (same shapes: one row)") {
  Generator g(6);
  const int64_t n = 400001;  // rows of many 16384-value blocks and a partial one; 2^20 values in all
  Tensor a = randn({3, n}, kFloat32, g), b = randn({3, n}, kFloat32, g), row = randn({1, n}, kFloat32, g);
  const std::vector<float> pa = a.to_vector<float>(), pb = b.to_vector<float>(), pr = row.to_vector<float>();
  const std::vector<float> sum = (a + b).to_vector<float>(), diff = (a - row).to_vector<float>();
  const std::vector<float> rdiff = (row - a).to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    bad += sum[i] != pa[i] + pb[i];
    bad += diff[i] != pa[i] - pr[i % n];
    bad += rdiff[i] != pr[i % n] - pa[i];
  }
  CHECK(bad == 0);
}

TEST_CASE("accumulate adds in place into a sum nobody else holds, else into a new tensor") {
  Generator g(7);
  const Tensor grad = randn({3, 40000}, kFloat32, g);
  Tensor sum = randn({3, 40000}, kFloat32, g);
  const std::vector<float> ps = sum.to_vector<float>(), pg = grad.to_vector<float>();
  const Tensor held = sum;  // a second holder: the sum must not change under it
  Tensor out = kernels::accumulate(std::move(sum), grad);
  CHECK(out.storage() != held.storage());
  CHECK(held.to_vector<float>() == ps);
  const void* buffer = out.data<float>();
  out = kernels::accumulate(std::move(out), grad);  // out is the only holder now: in place
  CHECK(out.data<float>() == buffer);
  const std::vector<float> twice = out.to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < ps.size(); ++i) bad += twice[i] != (ps[i] + pg[i]) + pg[i];
  CHECK(bad == 0);
  // A sum of another shape (a broadcast gradient) or dtype is never written in place.
  Tensor row = ones({1, 40000});
  const void* row_buffer = row.data<float>();
  const Tensor wide = kernels::accumulate(std::move(row), grad);
  CHECK(wide.shape() == grad.shape());
  CHECK(wide.data<float>() != row_buffer);
  CHECK_ERROR(kernels::accumulate(ones({3, 40000}, kFloat64), grad), "add: expected both tensors of one dtype");
}

TEST_CASE("unary ops") {
  Tensor x = from_vector<double>({0.25, 1, 4});
  test::check_values(-x, {3}, {-0.25, -1, -4});
  test::check_values(exp(x), {3}, {std::exp(0.25), std::exp(1.0), std::exp(4.0)}, 1e-12);
  test::check_values(log(x), {3}, {std::log(0.25), 0, std::log(4.0)}, 1e-12);
  test::check_values(sqrt(x), {3}, {0.5, 1, 2}, 1e-12);
  test::check_values(pow(x, 2.0), {3}, {0.0625, 1, 16}, 1e-12);
  test::check_values(pow(x, -0.5), {3}, {2, 1, 0.5}, 1e-12);
  test::check_values(relu(from_vector<float>({-2, 0, 3})), {3}, {0, 0, 3});
}

TEST_CASE("elementwise ops reject mismatched shapes, dtypes and non-float tensors") {
  CHECK_ERROR(zeros({2, 3}) + zeros({4}), "add: shapes [2, 3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
  CHECK_ERROR(zeros({2, 3}) * zeros({3, 3}), "mul: shapes [2, 3] and [3, 3] cannot be broadcast");
  CHECK_ERROR(zeros({2}) - zeros({2}, kFloat64), "sub: expected both tensors of one dtype, found float32 and float64");
  CHECK_ERROR(exp(from_vector<int64_t>({1})), "exp: expected dtype float32 or float64, found int64");
  CHECK_ERROR(zeros({2}) / Tensor(), "div: expected a defined tensor");
}

namespace {
using In = const std::vector<Tensor>&;
}  // namespace

TEST_CASE_ON_DEVICES("binary and unary ops, pow, casts and broadcasting equal the float64 CPU op") {
  Generator gen(5);
  const Tensor a = randn({4, 3, 5, 6}, kFloat64, gen), b = randn({1, 3, 1, 1}, kFloat64, gen) + 3.0;
  const double tol = target.tolerance();
  test::check_against_cpu_float64(target, {a, b}, [](In x) { return x[0] + x[1]; }, tol);
  test::check_against_cpu_float64(target, {b, a}, [](In x) { return x[0] - x[1]; }, tol);
  test::check_against_cpu_float64(target, {a, b}, [](In x) { return x[0] * x[1]; }, tol);
  test::check_against_cpu_float64(target, {a, b}, [](In x) { return x[0] / x[1]; }, tol);
  test::check_against_cpu_float64(target, {b, a}, [](In x) { return x[1] / x[0]; }, tol);
  const Tensor positive = exp(a);
  test::check_against_cpu_float64(target, {a}, [](In x) { return -x[0]; }, tol);
  test::check_against_cpu_float64(target, {a}, [](In x) { return relu(x[0] * 2.0); }, tol);
  test::check_against_cpu_float64(target, {a}, [](In x) { return exp(x[0]); }, tol);
  test::check_against_cpu_float64(target, {positive}, [](In x) { return log(x[0]); }, tol);
  test::check_against_cpu_float64(target, {positive}, [](In x) { return sqrt(x[0]); }, tol);
  test::check_against_cpu_float64(target, {positive}, [](In x) { return pow(x[0], 1.5); }, tol);
  // The kernels autograd does not reach directly: Eq, IsMax, ReluGrad, broadcast_to, casts.
  for (auto op : {kernels::BinaryOp::Eq, kernels::BinaryOp::IsMax, kernels::BinaryOp::ReluGrad}) {
    CAPTURE(static_cast<int>(op));
    const Tensor half = relu(a);  // equal to a where a > 0
    test::check_close(kernels::binary(op, target.put(a), target.put(half)),
                      kernels::binary(op, a.to(target.dtype).to(kFloat64), half.to(target.dtype).to(kFloat64)), 1e-300,
                      "eq / relu_backward");
  }
  test::check_close(kernels::broadcast_to(target.put(b), a.shape()),
                    kernels::broadcast_to(b.to(target.dtype).to(kFloat64), a.shape()), 1e-300, "broadcast_to");
  test::check_close(target.put(a).to(kFloat64).to(kFloat32).to(target.dtype), a.to(kFloat32).to(target.dtype).to(kFloat64),
                    1e-300, "casts");
}

TEST_CASE_ON_DEVICES("relu propagates NaN, and its gradient passes where the input is NaN, as in PyTorch") {
  Tensor x = target.put(from_vector<double>({NAN, -1, 2, 0}), true);
  Tensor y = relu(x);
  const std::vector<double> v = y.to_vector<double>();
  CHECK(std::isnan(v[0]));
  CHECK(v[1] == 0);
  CHECK(v[2] == 2);
  CHECK(v[3] == 0);
  y.backward(target.put(ones({4}, kFloat64)));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 0, 1, 0});  // torch.relu's backward gives the same
}
