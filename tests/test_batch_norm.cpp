// BatchNorm: the op (autograd/ops/batch_norm.cpp), its kernels on every device, and the layer
// with its running statistics. Device cases run on the CPU and CUDA in float32 and float64.
#include <minidl/core/kernels.h>

#include "devices.h"
#include "fixtures.h"
#include "reference.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;

}  // namespace

TEST_CASE_ON_DEVICES("batch_norm equals a plain loop in training (with the running statistics) and in eval") {
  Generator gen(1);
  for (const Shape& shape : {Shape{4, 6, 9, 7}, Shape{5, 3}, Shape{2, 8, 16, 16}}) {
    CAPTURE(to_string(shape));
    const int64_t N = shape[0], C = shape[1], HW = numel(shape) / (N * C);
    // A mean far from zero for the large case: no Σx² − mean² cancellation.
    const Tensor x = randn(shape, kFloat64, gen) * 2.0 + (HW > 100 ? 1000.0 : 0.5);
    const Tensor w = randn({C}, kFloat64, gen), b = randn({C}, kFloat64, gen);
    const Tensor rm = randn({C}, kFloat64, gen), rv = rand({C}, kFloat64, gen) + 0.5;
    auto values = [&](const Tensor& t) { return t.to(target.dtype).to_vector<double>(); };
    for (bool training : {true, false}) {
      CAPTURE(training);
      std::vector<double> ref_mean = values(rm), ref_var = values(rv);
      const std::vector<double> expected = test::reference::batch_norm(values(x), N, C, HW, values(w), values(b),
                                                                       ref_mean, ref_var, training, 0.1, 1e-5);
      Tensor running_mean = target.put(rm), running_var = target.put(rv);
      const Tensor y = batch_norm(target.put(x), running_mean, running_var, target.put(w), target.put(b), training);
      test::check_close(y, from_vector(expected, shape), target.tolerance(), "y");
      test::check_close(running_mean, from_vector(ref_mean), target.tolerance(), "running_mean");
      test::check_close(running_var, from_vector(ref_var), target.tolerance(), "running_var (unbiased)");
    }
  }
}

TEST_CASE_ON_DEVICES("batch_norm forward and backward equal the float64 CPU op, in training and in eval") {
  Generator gen(2);
  const Tensor x = randn({4, 6, 9, 7}, kFloat64, gen) * 2.0 + 0.5, w = randn({6}, kFloat64, gen), b = randn({6}, kFloat64, gen);
  const Tensor rm = randn({6}, kFloat64, gen), rv = rand({6}, kFloat64, gen) + 0.5;
  test::check_against_cpu_float64(target, {x, w, b}, [](In in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
                                  target.tolerance(1e-4));
  test::check_against_cpu_float64(target, {x, w, b}, [&](In in) {
        return batch_norm(in[0], rm.to(in[0].dtype()).to(in[0].device()), rv.to(in[0].dtype()).to(in[0].device()), in[1], in[2], false);
      }, target.tolerance());
  test::check_against_cpu_float64(target, {randn({64, 256, 4, 4}, kFloat64, gen)},
                                  [](In in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                                  target.tolerance(1e-4));
}

TEST_CASE_ON_DEVICES_WITH("BatchNorm2d matches PyTorch over 3 training steps and in eval, on its device", kFloat32) {
  auto fixture = [](const std::string& name) { return test::fixture("layers", name); };
  BatchNorm2d bn(6);
  kernels::copy_(bn.weight, fixture("bn_weight"));
  kernels::copy_(bn.bias, fixture("bn_bias"));
  bn.to(target.device);
  for (int step = 0; step < 3; ++step) {
    const std::string p = "bn_train" + std::to_string(step) + "_";
    CAPTURE(step);
    bn.zero_grad();
    Tensor x = fixture(p + "x").to(target.device).detach().requires_grad_();
    Tensor y = bn(x);
    CHECK(y.device() == target.device);
    test::check_matches(y, fixture(p + "y"), "output");
    y.backward(fixture(p + "gout").to(target.device));
    test::check_matches(x.grad(), fixture(p + "dx"), "dx");
    test::check_matches(bn.weight.grad(), fixture(p + "dweight"), "dweight");
    test::check_matches(bn.bias.grad(), fixture(p + "dbias"), "dbias");
    test::check_matches(bn.running_mean, fixture(p + "running_mean"), "running_mean");
    test::check_matches(bn.running_var, fixture(p + "running_var"), "running_var (unbiased)");
  }
  CHECK(bn.num_batches_tracked.item<int64_t>() == 3);
  bn.eval();
  test::compare_with_torch("layers", "bn_eval", 3,
                           [&](In x) { return batch_norm(x[0], bn.running_mean, bn.running_var, x[1], x[2], false); },
                           target.device);
}

TEST_CASE_ON_DEVICES_WITH("BatchNorm2d with virtual_batch_size matches PyTorch's BatchNorm2d on each slice", kFloat32) {
  auto fixture = [](const std::string& name) { return test::fixture("layers", "bn_virtual_" + name); };
  BatchNorm2d bn(4, 1e-5, 0.1, true, true, /*virtual_batch_size=*/2);
  kernels::copy_(bn.weight, fixture("weight"));
  kernels::copy_(bn.bias, fixture("bias"));
  bn.to(target.device);
  Tensor x = fixture("x").to(target.device).detach().requires_grad_();
  Tensor y = bn(x);
  test::check_matches(y, fixture("y"), "output");
  y.backward(fixture("gout").to(target.device));
  test::check_matches(x.grad(), fixture("dx"), "dx");
  test::check_matches(bn.weight.grad(), fixture("dweight"), "dweight");
  test::check_matches(bn.bias.grad(), fixture("dbias"), "dbias");
  // The running statistics moved once per slice of 2 images, 4 times in all.
  test::check_matches(bn.running_mean, fixture("running_mean"), "running_mean");
  test::check_matches(bn.running_var, fixture("running_var"), "running_var");
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
}

TEST_CASE("gradcheck: BatchNorm2d with virtual batches, and narrow and cat along the batch") {
  Generator gen(12);
  const Tensor x = randn({6, 3, 2, 2}, kFloat64, gen);
  BatchNorm2d bn(3, 1e-5, 0.1, true, false, /*virtual_batch_size=*/4);  // slices of 4 and 2
  test::check_layer_gradcheck(bn, x);
  test::check_gradcheck([](In in) { return narrow(in[0], 0, 1, 3) * 2.0; }, {x});
  test::check_gradcheck([](In in) { return cat({in[0], in[1] * 3.0, in[0]}); }, {x, randn({2, 3, 2, 2}, kFloat64, gen)});
  CHECK_ERROR(narrow(x, 1, 0, 1), "narrow: only dim 0 is supported, found dim 1");
  CHECK_ERROR(narrow(x, 0, 4, 3), "narrow: rows [4, 7) do not lie in dim 0 of size 6");
  CHECK_ERROR(cat({x, randn({2, 2, 2, 2}, kFloat64, gen)}), "cat: expected tensors like [6, 3, 2, 2] float64 on cpu but for dim 0, found [2, 2, 2, 2]");
}

TEST_CASE("set_bn_virtual_batch_size sets every BatchNorm2d of a model; 2 slices of 4 equal 2 batches of 4") {
  ModelOptions o;
  o.in_channels = 1;
  manual_seed(3);
  auto whole = build_model(o);
  CHECK(set_bn_virtual_batch_size(*whole, 4) == 21);  // resnet20: bn1, 9 blocks × 2, 2 downsamples
  Generator gen(13);
  const Tensor x = randn({8, 1, 8, 8}, kFloat64, gen);
  whole->to(kFloat64);
  const Tensor y = (*whole)(x);
  manual_seed(3);
  auto halves = build_model(o);
  halves->to(kFloat64);
  const Tensor a = (*halves)(narrow(x, 0, 0, 4)), b = (*halves)(narrow(x, 0, 4, 4));
  test::check_close(y, cat({a, b}), 1e-12, "virtual batches vs separate batches");
}

TEST_CASE("gradcheck: batch_norm in training and in eval, and the layer") {
  Generator gen(10);
  const Tensor x = randn({4, 3, 5, 2}, kFloat64, gen), w = randn({3}, kFloat64, gen), b = randn({3}, kFloat64, gen);
  test::check_gradcheck([](In in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); }, {x, w, b});
  const Tensor rm = randn({3}, kFloat64, gen), rv = rand({3}, kFloat64, gen) + 0.5;
  test::check_gradcheck([&](In in) { return batch_norm(in[0], rm, rv, in[1], in[2], false); }, {x, w, b});
  test::check_gradcheck([](In in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                        {randn({5, 2}, kFloat64, gen)});
  BatchNorm2d bn(3);
  test::check_layer_gradcheck(bn, randn({3, 3, 2, 2}, kFloat64, gen));
  bn.eval();
  test::check_layer_gradcheck(bn, randn({3, 3, 2, 2}, kFloat64, gen));
}

TEST_CASE("batch_norm rejects bad shapes and batches") {
  CHECK_ERROR(batch_norm(zeros({1, 4, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true),
              "batch_norm: expected more than 1 value per channel when training, found input of shape [1, 4, 1, 1]");
  CHECK_ERROR(batch_norm(zeros({2, 4}), Tensor(), Tensor()), "batch_norm: eval mode needs running_mean and running_var");
  CHECK_ERROR(batch_norm(zeros({2, 4}), zeros({3}), ones({3}), Tensor(), Tensor(), true), "batch_norm: expected running_mean of shape [4], found [3]");
  CHECK_ERROR(BatchNorm2d(4)(zeros({2, 4})), "BatchNorm2d: expected a 4-D input [N, C, H, W], found [2, 4]");
}
