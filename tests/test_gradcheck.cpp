// Every differentiable op passes gradcheck in float64 (max relative error < 1e-6), and
// gradcheck itself catches a wrong backward.
#include "helpers.h"

#include <minidl/core/kernels.h>

using namespace minidl;

namespace {

Tensor rnd(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return randn(shape, kFloat64, g);
}

// Values in [lo, hi): positive inputs for log/sqrt/pow, or away from ReLU's kink at 0.
Tensor uniform(const Shape& shape, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  return rand(shape, kFloat64, g) * (hi - lo) + lo;
}

// Values whose magnitude is at least 0.1, with random signs: no input sits on a kink.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Tensor mag = uniform(shape, 0.1, 2.0, seed);
  Tensor sign = uniform(shape, -1, 1, seed + 1);
  std::vector<double> m = mag.to_vector<double>(), s = sign.to_vector<double>();
  for (size_t i = 0; i < m.size(); ++i) m[i] = s[i] < 0 ? -m[i] : m[i];
  return from_vector<double>(m, shape);
}

void check_grad(const GradcheckFn& fn, const std::vector<Tensor>& inputs) { test::check_gradcheck(fn, inputs); }

using In = const std::vector<Tensor>&;

}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{2, 3, 2, 2}, {1, 3, 1, 1}}, {{3, 1}, {1, 4}}, {{4}, {2, 3, 4}}, {{2, 3}, {}}};
  for (const auto& pair : shapes) {
    const Shape &sa = pair.first, &sb = pair.second;  // not a structured binding: CAPTURE's lambda takes them
    CAPTURE(to_string(sa));
    CAPTURE(to_string(sb));
    Tensor a = rnd(sa, 1), b = rnd(sb, 2), bpos = uniform(sb, 0.5, 2.0, 3);
    check_grad([](In x) { return add(x[0], x[1]); }, {a, b});
    check_grad([](In x) { return sub(x[0], x[1]); }, {a, b});
    check_grad([](In x) { return mul(x[0], x[1]); }, {a, b});
    check_grad([](In x) { return div(x[0], x[1]); }, {a, bpos});
  }
}

TEST_CASE("gradcheck: neg, relu, exp, log, sqrt, pow") {
  Tensor x = rnd({3, 5}, 4), pos = uniform({3, 5}, 0.5, 3.0, 5);
  check_grad([](In in) { return neg(in[0]); }, {x});
  check_grad([](In in) { return relu(in[0]); }, {away_from_zero({3, 5}, 6)});
  check_grad([](In in) { return exp(in[0]); }, {x});
  check_grad([](In in) { return log(in[0]); }, {pos});
  check_grad([](In in) { return sqrt(in[0]); }, {pos});
  for (double p : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0}) {
    CAPTURE(p);
    check_grad([p](In in) { return pow(in[0], p); }, {pos});
  }
  check_grad([](In in) { return pow(in[0], 3.0); }, {x});
}

TEST_CASE("gradcheck: sum, mean, max over dims") {
  Tensor x = rnd({2, 3, 4}, 7);
  check_grad([](In in) { return sum(in[0]); }, {x});
  check_grad([](In in) { return sum(in[0], {1}); }, {x});
  check_grad([](In in) { return sum(in[0], {0, 2}, true); }, {x});
  check_grad([](In in) { return mean(in[0]); }, {x});
  check_grad([](In in) { return mean(in[0], {-1}); }, {x});
  check_grad([](In in) { return mean(in[0], {0, 2}, true); }, {x});
  check_grad([](In in) { return max(in[0]); }, {x});
  check_grad([](In in) { return max(in[0], {1}); }, {x});
  check_grad([](In in) { return max(in[0], {0, 2}, true); }, {x});
}

TEST_CASE("max shares the gradient equally between ties") {
  Tensor x = from_vector<double>({1, 5, 5, 2}).requires_grad_();
  max(x).backward();
  test::check_values(x.grad(), {4}, {0, 0.5, 0.5, 0});
}

TEST_CASE("gradcheck: matmul, transpose, reshape, clone, and a composite") {
  Tensor a = rnd({4, 3}, 8), b = rnd({3, 5}, 9);
  check_grad([](In in) { return matmul(in[0], in[1]); }, {a, b});
  check_grad([](In in) { return transpose(in[0]); }, {a});
  check_grad([](In in) { return in[0].reshape({2, -1}); }, {a});
  check_grad([](In in) { return in[0].clone(); }, {a});
  // A two-layer perceptron with a softmax-like normalization: every op in one graph.
  Tensor x = rnd({5, 4}, 10), w1 = rnd({4, 3}, 11), b1 = rnd({3}, 12), w2 = rnd({3, 2}, 13);
  check_grad(
      [](In in) {
        Tensor h = relu(matmul(in[0], in[1]) + in[2]);
        Tensor logits = matmul(h, in[3]);
        Tensor e = exp(logits - max(logits, {1}, true));
        return log(e / sum(e, {1}, true)) * 0.5 + sqrt(pow(logits, 2.0) + 1.0);
      },
      {x, w1, b1, w2});
}

TEST_CASE("gradcheck catches a wrong backward and names the input") {
  // d(x·y)/dy deliberately wrong: returns g·x + 0.01
  auto wrong_mul = [](In in) {
    Tensor out = kernels::binary(kernels::BinaryOp::Mul, in[0], in[1]);
    return record("WrongMulBackward", out, {in[0], in[1]}, [a = in[0].detach(), b = in[1].detach()](const Tensor& g, const Needs&) -> Grads {
      Tensor ga = kernels::binary(kernels::BinaryOp::Mul, g, b);
      Tensor gb = kernels::binary(kernels::BinaryOp::Add, kernels::binary(kernels::BinaryOp::Mul, g, a), scalar_tensor(0.01, kFloat64));
      return {ga, gb};
    });
  };
  const GradcheckReport r = gradcheck(wrong_mul, {rnd({3}, 14), rnd({3}, 15)});
  CHECK(!r.ok());
  CHECK(r.inputs[0].ok);
  CHECK(!r.inputs[1].ok);
  CHECK(r.inputs[1].max_abs_error == doctest::Approx(0.01).epsilon(1e-3));
  CHECK(r.summary().find("input 1") != std::string::npos);
  CHECK(r.summary().find("FAILED") != std::string::npos);
}

TEST_CASE("gradcheck wants float64 and leaves its inputs untouched") {
  CHECK_ERROR(gradcheck([](In in) { return in[0]; }, {zeros({2})}), "gradcheck: input 0 must be a float64 cpu tensor");
  Tensor x = rnd({3}, 16);
  const std::vector<double> before = x.to_vector<double>();
  gradcheck([](In in) { return exp(in[0]); }, {x});
  CHECK(x.to_vector<double>() == before);
  CHECK(!x.requires_grad());
}
