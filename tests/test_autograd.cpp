// The autograd engine: graph recording, accumulation, grad mode, leaves and errors.
#include "helpers.h"

using namespace minidl;

TEST_CASE("a shared subexpression gets every term: d(x*x + x)/dx = 2x + 1") {
  Tensor x = from_vector<double>({1, -2, 3}).requires_grad_();
  Tensor y = x * x + x;
  CHECK(y.requires_grad());
  CHECK(y.grad_fn_name() == "AddBackward");
  CHECK(!y.is_leaf());
  CHECK(x.is_leaf());
  sum(y).backward();
  test::check_values(x.grad(), {3}, {3, -3, 7});
}

TEST_CASE("gradients flow through a diamond and a deep chain") {
  // z = u*u + u with u = a*b: dz/da = (2u + 1)·b
  Tensor a = from_vector<double>({2}).requires_grad_();
  Tensor b = from_vector<double>({3}).requires_grad_();
  Tensor u = a * b;
  Tensor z = u * u + u;
  z.backward();
  test::check_values(a.grad(), {1}, {(2 * 6 + 1) * 3});
  test::check_values(b.grad(), {1}, {(2 * 6 + 1) * 2});

  // 20000 ops in a row: the engine is iterative, so no stack overflow.
  Tensor x = from_vector<double>({1.0}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0001;
  y.backward();
  CHECK(x.grad().item<double>() == doctest::Approx(std::pow(1.0001, 20000)).epsilon(1e-9));
}

TEST_CASE("broadcast inputs get gradients of their own shape") {
  Tensor x = ones({2, 3, 2, 2}).requires_grad_();
  Tensor gamma = full({1, 3, 1, 1}, 2.0).requires_grad_();
  sum(x * gamma).backward();
  test::check_values(gamma.grad(), {1, 3, 1, 1}, {8, 8, 8});
  test::check_values(x.grad(), {2, 3, 2, 2}, std::vector<double>(24, 2.0));
}

TEST_CASE("leaf gradients accumulate across backward calls and zero_grad drops them") {
  Tensor w = from_vector<float>({1, 2}).requires_grad_();
  sum(w * 3.0).backward();
  sum(w * 3.0).backward();
  test::check_values(w.grad(), {2}, {6, 6});
  w.zero_grad();
  CHECK(!w.grad().defined());
  std::vector<Tensor> params{w};
  sum(w).backward();
  zero_grad(params);
  CHECK(!w.grad().defined());
}

TEST_CASE("a .grad() someone holds is not changed by the next backward; one nobody holds is added to in place") {
  Tensor w = from_vector<float>({1, 2}).requires_grad_();
  sum(w * 3.0).backward();
  const Tensor first = w.grad();
  sum(w * 3.0).backward();
  test::check_values(first, {2}, {3, 3});
  test::check_values(w.grad(), {2}, {6, 6});
  const void* buffer = w.grad().data<float>();
  sum(w * 3.0).backward();
  CHECK(w.grad().data<float>() == buffer);
  test::check_values(w.grad(), {2}, {9, 9});
}

TEST_CASE("two leaves fed the same gradient do not share .grad storage") {
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({2}).requires_grad_();
  sum(a + b).backward();
  CHECK(a.grad().storage() != b.grad().storage());
  a.grad().data<float>()[0] = 5;
  CHECK(b.grad().at<float>({0}) == 1);
}

TEST_CASE("NoGradGuard records nothing and detach cuts the graph") {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard no_grad;
    CHECK(!is_grad_enabled());
    Tensor y = x * 2.0;
    CHECK(!y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(is_grad_enabled());
  Tensor d = (x * 2.0).detach();
  CHECK(!d.requires_grad());
  Tensor z = x * d;  // d is a constant: dz/dx = d = 2
  sum(z).backward();
  test::check_values(x.grad(), {2}, {2, 2});
}

TEST_CASE("EnableGradGuard records inside a NoGradGuard, and restores it") {
  Tensor x = ones({2}).requires_grad_();
  NoGradGuard no_grad;
  {
    EnableGradGuard grad;
    CHECK(is_grad_enabled());
    sum(x * 3.0).backward();
  }
  CHECK(!is_grad_enabled());
  CHECK(!(x * 2.0).requires_grad());
  test::check_values(x.grad(), {2}, {3, 3});
}

TEST_CASE("ops with no input requiring grad build no graph") {
  Tensor y = ones({2}) * 3.0 + ones({2});
  CHECK(!y.requires_grad());
  CHECK(y.grad_fn_name().empty());
  CHECK_ERROR(y.backward(), "backward: this tensor does not require grad");
}

TEST_CASE("backward errors say what was expected") {
  Tensor x = ones({3}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_ERROR(y.backward(), "backward: a gradient can be implied only for a one-element output, found shape [3]");
  CHECK_ERROR(y.backward(ones({2})), "backward: expected grad of shape [3] and dtype float32, found [2] and float32");
  CHECK_ERROR(y.requires_grad_(false), "requires_grad_: only leaf tensors can change requires_grad; this one comes from MulBackward");
  CHECK_ERROR(from_vector<int64_t>({1}).requires_grad_(), "requires_grad_: only float32/float64 tensors can require grad, found int64");

  Tensor loss = sum(y * y);
  loss.backward();
  CHECK_ERROR(loss.backward(), "has already been run and its saved tensors freed");
}

TEST_CASE("retain_graph lets backward run twice") {
  Tensor x = from_vector<double>({3}).requires_grad_();
  Tensor y = x * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  test::check_values(x.grad(), {1}, {12});
}

TEST_CASE("a non-scalar output takes an explicit gradient") {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = x * x;
  y.backward(from_vector<double>({1, 10}));
  test::check_values(x.grad(), {2}, {2, 40});
}

TEST_CASE("reshape, clone and to(dtype) are differentiable") {
  Tensor x = arange(6, kFloat64).requires_grad_();
  Tensor y = x.reshape({2, 3}).clone().to(kFloat32);
  CHECK(y.grad_fn_name() == "ToBackward");
  sum(y * from_vector<float>({1, 2, 3}, {1, 3})).backward();
  CHECK(x.grad().dtype() == kFloat64);
  test::check_values(x.grad(), {6}, {1, 2, 3, 1, 2, 3});
}

TEST_CASE("backward of a leaf sets its own gradient") {
  Tensor x = from_vector<float>({4}).requires_grad_();
  x.backward();
  test::check_values(x.grad(), {1}, {1});
}

TEST_CASE("detect_anomaly names the first op whose forward output or gradient is not finite") {
  {
    DetectAnomalyGuard anomaly;
    CHECK(is_anomaly_enabled());
    Tensor x = from_vector<double>({1, -1}).requires_grad_();
    CHECK_ERROR(log(x), "detect_anomaly: LogBackward's forward output is not finite (shape [2])");
    Tensor z = from_vector<double>({0, 4}).requires_grad_();
    Tensor y = sqrt(z);  // 0 and 2: finite; its gradient 1 / (2·sqrt(z)) is not at 0
    CHECK_ERROR(sum(y).backward(), "detect_anomaly: the gradient SqrtBackward returned for input 0 is not finite");
  }
  CHECK_FALSE(is_anomaly_enabled());
  Tensor x = from_vector<double>({1, -1}).requires_grad_();
  CHECK(std::isnan(log(x).to_vector<double>()[1]));  // off: the NaN flows on, as in PyTorch
}
