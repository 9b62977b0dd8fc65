// Every neural-network op and layer passes gradcheck in float64, with respect to its input
// and its parameters (max relative error < 1e-6).
#include "helpers.h"

using namespace minidl;

namespace {

constexpr double kMaxRel = 1e-6;
using In = const std::vector<Tensor>&;

Tensor rnd(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return randn(shape, kFloat64, g) * scale;
}

void check_grad(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  const GradcheckReport r = gradcheck(fn, inputs);
  INFO(r.summary());
  CHECK(r.ok());
  CHECK(r.max_rel_error() < kMaxRel);
}

// Checks a layer in float64 with respect to its input and every one of its parameters.
void check_layer(Module& layer, const Tensor& x) {
  layer.to(kFloat64);
  Tensor input = x.detach().clone().requires_grad_();
  std::vector<Tensor> leaves{input};
  for (const Tensor& p : layer.parameters()) leaves.push_back(p);
  const GradcheckReport r = gradcheck_in_place([&] { return layer(input); }, leaves);
  INFO(layer);
  INFO(r.summary());
  CHECK(r.ok());
  CHECK(r.max_rel_error() < kMaxRel);
}

}  // namespace

TEST_CASE("gradcheck: conv2d with every stride, padding and kernel size") {
  Tensor x = rnd({2, 3, 7, 6}, 1);
  for (int64_t k : {1, 3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (int64_t padding : {int64_t{0}, k / 2}) {
        CAPTURE(k);
        CAPTURE(stride);
        CAPTURE(padding);
        Tensor w = rnd({4, 3, k, k}, 2, 0.3), b = rnd({4}, 3);
        check_grad([=](In in) { return conv2d(in[0], in[1], in[2], stride, padding); }, {x, w, b});
      }
    }
  }
  check_grad([](In in) { return conv2d(in[0], in[1], Tensor(), 2, 3); }, {rnd({1, 2, 9, 9}, 4), rnd({3, 2, 7, 7}, 5, 0.2)});
}

TEST_CASE("gradcheck: group_norm for G = 1, 2, 4 and C, with and without affine") {
  Tensor x = rnd({3, 12, 5, 7}, 6), w = rnd({12}, 7), b = rnd({12}, 8);
  for (int64_t g : {1, 2, 4, 12}) {
    CAPTURE(g);
    check_grad([g](In in) { return group_norm(in[0], g, in[1], in[2]); }, {x, w, b});
  }
  check_grad([](In in) { return group_norm(in[0], 3); }, {rnd({2, 6, 4}, 9)});
}

TEST_CASE("gradcheck: batch_norm in training and in eval") {
  Tensor x = rnd({4, 3, 5, 2}, 10), w = rnd({3}, 11), b = rnd({3}, 12);
  check_grad([](In in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); }, {x, w, b});
  Tensor rm = rnd({3}, 13), rv = rand({3}, kFloat64) + 0.5;
  check_grad([&](In in) { return batch_norm(in[0], rm, rv, in[1], in[2], false); }, {x, w, b});
  check_grad([](In in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, {rnd({5, 2}, 14)});
}

TEST_CASE("gradcheck: pooling, linear, flatten, log_softmax and cross_entropy") {
  // Pooling inputs without ties, so that max pooling is differentiable at the point checked.
  Tensor x = arange(2 * 3 * 9 * 8, kFloat64).reshape({2, 3, 9, 8}) * 0.01 + rnd({2, 3, 9, 8}, 15, 1e-3);
  check_grad([](In in) { return max_pool2d(in[0], 3, 2, 1); }, {x});
  check_grad([](In in) { return max_pool2d(in[0], 2); }, {rnd({2, 2, 6, 6}, 16)});
  check_grad([](In in) { return avg_pool2d(in[0], 3, 2, 1); }, {x});
  check_grad([](In in) { return avg_pool2d(in[0], 2); }, {x});
  check_grad([](In in) { return adaptive_avg_pool2d(in[0]); }, {x});
  check_grad([](In in) { return adaptive_avg_pool2d(in[0], 4, 3); }, {x});
  check_grad([](In in) { return linear(in[0], in[1], in[2]); }, {rnd({5, 7}, 17), rnd({4, 7}, 18), rnd({4}, 19)});
  check_grad([](In in) { return linear(in[0], in[1]); }, {rnd({2, 3, 7}, 20), rnd({4, 7}, 21)});
  check_grad([](In in) { return flatten(in[0]); }, {rnd({2, 3, 2, 2}, 22)});
  check_grad([](In in) { return log_softmax(in[0]); }, {rnd({4, 6}, 23)});
  const Tensor labels = from_vector<int64_t>({0, 4, 2, 2, 1, 3});
  for (double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    check_grad([&](In in) { return cross_entropy(in[0], labels, smoothing); }, {rnd({6, 5}, 24)});
  }
}

TEST_CASE("gradcheck: every layer, through its parameters") {
  Conv2d conv(3, 4, 3, 2, 1);
  check_layer(conv, rnd({2, 3, 6, 5}, 25));
  Linear fc(6, 3);
  check_layer(fc, rnd({4, 6}, 26));
  BatchNorm2d bn(3);
  check_layer(bn, rnd({3, 3, 2, 2}, 27));
  bn.eval();
  check_layer(bn, rnd({3, 3, 2, 2}, 28));
  GroupNorm gn(2, 4);
  check_layer(gn, rnd({2, 4, 3, 3}, 29));
  Sequential net({std::make_shared<Conv2d>(2, 4, 3, 1, 1), std::make_shared<GroupNorm>(2, 4), std::make_shared<ReLU>(),
                  std::make_shared<MaxPool2d>(2), std::make_shared<AvgPool2d>(1), std::make_shared<AdaptiveAvgPool2d>(),
                  std::make_shared<Flatten>(), std::make_shared<Identity>(), std::make_shared<Linear>(4, 3)});
  check_layer(net, rnd({2, 2, 6, 6}, 30));
}
