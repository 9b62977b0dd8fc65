// GroupNorm: the op (autograd/ops/group_norm.cpp), its kernels on every device, and the layer.
// The device cases run on the CPU and on CUDA, in float32 and float64, against core-free
// references: plain loops in double (reference.h) and the float64 CPU op (itself gradchecked).
#include <minidl/core/kernels.h>

#include "devices.h"
#include "fixtures.h"
#include "reference.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;

// group_norm(x, G, w, b) on the target against reference::group_norm on the target's rounding
// of the same values (so that only the kernel's arithmetic is measured).
void check_forward(const test::Target& target, const Tensor& x, int64_t groups, bool affine, double tol32 = 1e-5) {
  CAPTURE(to_string(x.shape()));
  CAPTURE(groups);
  CAPTURE(affine);
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C);
  Generator gen(static_cast<uint64_t>(C + groups));
  const Tensor w = randn({C}, kFloat64, gen), b = randn({C}, kFloat64, gen);
  const Tensor xr = x.to(target.dtype).to(kFloat64), wr = w.to(target.dtype).to(kFloat64), br = b.to(target.dtype).to(kFloat64);
  const std::vector<double> expected = test::reference::group_norm(
      xr.to_vector<double>(), N, C, HW, groups, affine ? wr.to_vector<double>() : std::vector<double>(),
      affine ? br.to_vector<double>() : std::vector<double>(), 1e-5);
  const Tensor y = affine ? group_norm(target.put(x), groups, target.put(w), target.put(b)) : group_norm(target.put(x), groups);
  CHECK(y.device() == target.device);
  test::check_close(y, from_vector(expected, x.shape()), target.tolerance(tol32), "y");
}

}  // namespace

TEST_CASE_ON_DEVICES("group_norm equals a plain loop for G = 1, 2, 4 and C, with and without affine") {
  Generator gen(1);
  const Tensor x = randn({3, 12, 5, 7}, kFloat64, gen) * 2.0 + 0.5;
  for (int64_t g : {1, 2, 4, 12}) check_forward(target, x, g, true);
  check_forward(target, x, 4, false);
  check_forward(target, randn({2, 6, 4}, kFloat64, gen), 3, true);  // [N, C, L]
}

TEST_CASE_ON_DEVICES("group_norm keeps the variance of values far from zero (no Σx² − mean² cancellation)") {
  // |mean| = 1000·std: in float32, Σx²/n − mean² would keep about one digit of the variance
  // (an error near 6 %). What remains is y = x·scale + shift in float32, whose rounding grows
  // with |mean|/std (here ~1e-5 of y's scale).
  Generator gen(2);
  check_forward(target, randn({2, 8, 16, 16}, kFloat64, gen) + 1000.0, 2, true);
  check_forward(target, randn({2, 4, 8, 8}, kFloat64, gen) * 0.05 - 50.0, 4, false, 1e-4);
}

TEST_CASE_ON_DEVICES("group_norm forward and backward equal the float64 CPU op, small and large groups") {
  Generator gen(3);
  for (int64_t g : {1, 2, 4, 12}) {
    CAPTURE(g);
    test::check_against_cpu_float64(target, {randn({3, 12, 5, 7}, kFloat64, gen) * 3.0 + 1.5, randn({12}, kFloat64, gen), randn({12}, kFloat64, gen)},
                                    [g](In in) { return group_norm(in[0], g, in[1], in[2]); }, target.tolerance());
  }
  // 32 channels × 128 × 128 = 524,288 values per group
  test::check_against_cpu_float64(target, {randn({2, 64, 128, 128}, kFloat64, gen), randn({64}, kFloat64, gen), randn({64}, kFloat64, gen)},
                                  [](In in) { return group_norm(in[0], 2, in[1], in[2]); }, target.tolerance(1e-4));
}

TEST_CASE_ON_DEVICES("group_norm of an empty batch is empty, and its parameter gradients are zero") {
  Tensor x = target.put(zeros({0, 4, 3, 3}), true), w = target.put(ones({4}), true), b = target.put(zeros({4}), true);
  Tensor y = group_norm(x, 2, w, b);
  CHECK(to_string(y.shape()) == "[0, 4, 3, 3]");
  sum(y).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>(4, 0.0));
  CHECK(b.grad().to_vector<double>() == std::vector<double>(4, 0.0));
  CHECK(x.grad().numel() == 0);
}

TEST_CASE_ON_DEVICES_WITH("group_norm matches PyTorch for G = 1, 2, 4 and C on (3, 12, 5, 7)", kFloat32) {
  for (int64_t g : {1, 2, 4, 12})
    test::compare_with_torch("layers", "group_norm_g" + std::to_string(g), 3,
                             [g](In x) { return group_norm(x[0], g, x[1], x[2]); }, target.device);
  test::compare_with_torch("layers", "group_norm_offset", 3, [](In x) { return group_norm(x[0], 4, x[1], x[2]); },
                           target.device);
}

TEST_CASE_ON_DEVICES_WITH("the GroupNorm layer matches PyTorch, and computes on its device", kFloat32) {
  auto fixture = [](const std::string& name) { return test::fixture("layers", name); };
  GroupNorm gn(4, 12);
  kernels::copy_(gn.weight, fixture("group_norm_g4_in1"));
  kernels::copy_(gn.bias, fixture("group_norm_g4_in2"));
  gn.to(target.device);
  for (const Tensor& p : gn.parameters()) CHECK(p.device() == target.device);
  Tensor x = fixture("group_norm_g4_in0").to(target.device).detach().requires_grad_();
  Tensor y = gn(x);
  CHECK(y.device() == target.device);
  test::check_matches(y, fixture("group_norm_g4_out"), "output");
  y.backward(fixture("group_norm_g4_gout").to(target.device));
  test::check_matches(x.grad(), fixture("group_norm_g4_grad0"), "dx");
  test::check_matches(gn.weight.grad(), fixture("group_norm_g4_grad1"), "dweight");
  test::check_matches(gn.bias.grad(), fixture("group_norm_g4_grad2"), "dbias");
}

TEST_CASE("gradcheck: group_norm for G = 1, 2, 4 and C, with and without affine") {
  Generator gen(6);
  const Tensor x = randn({3, 12, 5, 7}, kFloat64, gen), w = randn({12}, kFloat64, gen), b = randn({12}, kFloat64, gen);
  for (int64_t g : {1, 2, 4, 12}) {
    CAPTURE(g);
    test::check_gradcheck([g](In in) { return group_norm(in[0], g, in[1], in[2]); }, {x, w, b});
  }
  test::check_gradcheck([](In in) { return group_norm(in[0], 3); }, {randn({2, 6, 4}, kFloat64, gen)});
  GroupNorm layer(2, 4);
  test::check_layer_gradcheck(layer, randn({2, 4, 3, 3}, kFloat64, gen));
}

TEST_CASE("group_norm rejects bad groups and shapes") {
  CHECK_ERROR(group_norm(zeros({2, 12, 3, 3}), 5), "group_norm: 12 channels cannot be split into 5 groups (C % G must be 0; input [2, 12, 3, 3])");
  CHECK_ERROR(group_norm(zeros({12}), 3), "group_norm: expected an input [N, C, *], found [12]");
  CHECK_ERROR(group_norm(zeros({2, 4, 3}), 2, ones({3})), "group_norm: expected weight of shape [4], found [3]");
}
