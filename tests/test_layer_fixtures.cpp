// Layers, losses and optimizers against PyTorch 1.13 on committed fixtures
// (tests/fixtures/make_layer_fixtures.py): float32 outputs and gradients within 1e-4.
#include "fixtures.h"

#include <minidl/core/kernels.h>

using namespace minidl;

namespace {

Tensor fixture(const std::string& name) { return test::fixture("layers", name); }

void compare(const std::string& name, size_t num_inputs, const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  test::compare_with_torch("layers", name, num_inputs, fn);
}

using In = const std::vector<Tensor>&;

}  // namespace

TEST_CASE("group_norm matches PyTorch for G = 1, 2, 4 and C on (3, 12, 5, 7)") {
  for (int64_t g : {1, 2, 4, 12})
    compare("group_norm_g" + std::to_string(g), 3, [g](In x) { return group_norm(x[0], g, x[1], x[2]); });
  compare("group_norm_offset", 3, [](In x) { return group_norm(x[0], 4, x[1], x[2]); });
}

TEST_CASE("the GroupNorm layer matches PyTorch") {
  GroupNorm gn(4, 12);
  kernels::copy_(gn.weight, fixture("group_norm_g4_in1"));
  kernels::copy_(gn.bias, fixture("group_norm_g4_in2"));
  Tensor x = fixture("group_norm_g4_in0").requires_grad_();
  Tensor y = gn(x);
  test::check_matches(y, fixture("group_norm_g4_out"), "output");
  y.backward(fixture("group_norm_g4_gout"));
  test::check_matches(x.grad(), fixture("group_norm_g4_grad0"), "dx");
  test::check_matches(gn.weight.grad(), fixture("group_norm_g4_grad1"), "dweight");
  test::check_matches(gn.bias.grad(), fixture("group_norm_g4_grad2"), "dbias");
}

TEST_CASE("BatchNorm2d matches PyTorch over 3 training steps and in eval") {
  BatchNorm2d bn(6);
  kernels::copy_(bn.weight, fixture("bn_weight"));
  kernels::copy_(bn.bias, fixture("bn_bias"));
  for (int step = 0; step < 3; ++step) {
    const std::string p = "bn_train" + std::to_string(step) + "_";
    CAPTURE(step);
    bn.zero_grad();
    Tensor x = fixture(p + "x").requires_grad_();
    Tensor y = bn(x);
    test::check_matches(y, fixture(p + "y"), "output");
    y.backward(fixture(p + "gout"));
    test::check_matches(x.grad(), fixture(p + "dx"), "dx");
    test::check_matches(bn.weight.grad(), fixture(p + "dweight"), "dweight");
    test::check_matches(bn.bias.grad(), fixture(p + "dbias"), "dbias");
    test::check_matches(bn.running_mean, fixture(p + "running_mean"), "running_mean");
    test::check_matches(bn.running_var, fixture(p + "running_var"), "running_var (unbiased)");
  }
  CHECK(bn.num_batches_tracked.item<int64_t>() == 3);
  bn.eval();
  compare("bn_eval", 3, [&](In x) { return batch_norm(x[0], bn.running_mean, bn.running_var, x[1], x[2], false); });
}

TEST_CASE("conv2d matches PyTorch: 3x3 stride 1/2 padding 0/1, 1x1, 7x7 stride 2 padding 3") {
  struct Case {
    const char* name;
    int64_t stride, padding;
    bool bias;
  };
  for (const Case& c : {Case{"3x3_s1_p1_bias", 1, 1, true}, Case{"3x3_s1_p0", 1, 0, false},
                        Case{"3x3_s2_p1_bias", 2, 1, true}, Case{"3x3_s2_p0", 2, 0, false}, Case{"1x1_s2", 2, 0, false},
                        Case{"1x1_s1_bias", 1, 0, true}, Case{"7x7_s2_p3", 2, 3, false}}) {
    compare(std::string("conv_") + c.name, c.bias ? 3 : 2,
            [&](In x) { return conv2d(x[0], x[1], c.bias ? x[2] : Tensor(), c.stride, c.padding); });
  }
}

TEST_CASE("pooling, linear, log_softmax and cross_entropy match PyTorch") {
  compare("max_pool_3_s2_p1", 1, [](In x) { return max_pool2d(x[0], 3, 2, 1); });
  compare("max_pool_2", 1, [](In x) { return max_pool2d(x[0], 2); });
  compare("avg_pool_3_s2_p1", 1, [](In x) { return avg_pool2d(x[0], 3, 2, 1); });
  compare("avg_pool_2", 1, [](In x) { return avg_pool2d(x[0], 2); });
  compare("adaptive_avg_1x1", 1, [](In x) { return adaptive_avg_pool2d(x[0]); });
  compare("adaptive_avg_4x3", 1, [](In x) { return adaptive_avg_pool2d(x[0], 4, 3); });
  compare("linear", 3, [](In x) { return linear(x[0], x[1], x[2]); });
  compare("log_softmax", 1, [](In x) { return log_softmax(x[0], 1); });
  const Tensor labels = fixture("labels");
  compare("cross_entropy", 1, [&](In x) { return cross_entropy(x[0], labels); });
  compare("cross_entropy_smooth", 1, [&](In x) { return cross_entropy(x[0], labels, 0.1); });
}

TEST_CASE("SGD (momentum, weight decay, Nesterov), Adam and AdamW steps match PyTorch") {
  auto run = [](const std::string& name, auto make) {
    CAPTURE(name);
    Tensor p = fixture("optim_param").requires_grad_();
    auto opt = make(std::vector<Tensor>{p});
    for (int step = 1; step <= 2; ++step) {
      // A gradient as backward would leave it: d(sum(p·g))/dp = g.
      p.zero_grad();
      sum(p * fixture("optim_grad" + std::to_string(step))).backward();
      opt.step();
      test::check_matches(p, fixture(name + "_step" + std::to_string(step)), "parameter after step " + std::to_string(step));
    }
  };
  run("sgd", [](std::vector<Tensor> ps) { return SGD(ps, {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}); });
  run("sgd_nesterov", [](std::vector<Tensor> ps) { return SGD(ps, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); });
  run("adam", [](std::vector<Tensor> ps) { return Adam(ps, {.lr = 0.01, .weight_decay = 1e-2}); });
  run("adamw", [](std::vector<Tensor> ps) { return AdamW(ps, {.lr = 0.01, .weight_decay = 1e-2}); });
}
