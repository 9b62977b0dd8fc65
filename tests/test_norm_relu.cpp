// The norms with a fused epilogue, relu(norm(x) + residual) (functional.h's NormEpilogue): the
// fused op against its parts, op by op in float64, on every device and CPU path; gradcheck; the
// ResNets, which use it through models/norm.h's norm_relu, against the same models run op by op.
#include <minidl/core/kernels.h>

#include "devices.h"
#include "fixtures.h"
#include "helpers.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;
using NormFn = std::function<Tensor(const Tensor& x, const Tensor& w, const Tensor& b, const NormEpilogue& then)>;

// The epilogues a ResNet uses (ReLU; residual and ReLU) and the residual alone. Inputs x, w, b, r.
struct Epilogue {
  const char* name;
  bool residual, relu;
};
constexpr Epilogue kEpilogues[] = {{"relu", false, true}, {"residual + relu", true, true}, {"residual", true, false}};

Tensor fused(const NormFn& norm, In in, const Epilogue& e) {
  return norm(in[0], in[1], in[2], {e.residual ? in[3] : Tensor(), e.relu});
}
Tensor op_by_op(const NormFn& norm, In in, const Epilogue& e) {
  Tensor y = norm(in[0], in[1], in[2], {});
  if (e.residual) y = y + in[3];
  return e.relu ? relu(y) : y;
}

// x, w, b and a residual of x's shape; the residual's gradient is checked even where it is g.
std::vector<Tensor> inputs(Generator& gen, const Shape& shape) {
  const int64_t C = shape[1];
  return {randn(shape, kFloat64, gen) * 2.0 + 0.5, randn({C}, kFloat64, gen), randn({C}, kFloat64, gen),
          randn(shape, kFloat64, gen)};
}

// The inputs an epilogue uses: x, w, b, and r where it adds the residual.
std::vector<Tensor> used(const std::vector<Tensor>& in, const Epilogue& e) {
  return e.residual ? in : std::vector<Tensor>(in.begin(), in.begin() + 3);
}

void check_fused(const test::Target& target, const NormFn& norm, const std::vector<Tensor>& in) {
  for (const Epilogue& e : kEpilogues) {
    CAPTURE(std::string(e.name));
    test::check_against_cpu_float64(
        target, used(in, e), [&](In t) { return fused(norm, t, e); }, target.tolerance(),
        [&](In t) { return op_by_op(norm, t, e); });
  }
}

}  // namespace

TEST_CASE_ON_DEVICES("batch_norm with a fused residual and ReLU equals its parts, in training and in eval") {
  Generator gen(21);
  const std::vector<Tensor> in = inputs(gen, {3, 12, 5, 7});
  const Tensor rm = randn({12}, kFloat64, gen).to(target.dtype).to(target.device),
               rv = (rand({12}, kFloat64, gen) + 0.5).to(target.dtype).to(target.device);
  test::on_each_path_of(target, [&] {
    check_fused(target, [](const Tensor& x, const Tensor& w, const Tensor& b, const NormEpilogue& then) {
      return batch_norm(x, Tensor(), Tensor(), w, b, /*training=*/true, 0.1, 1e-5, then);
    }, in);
    check_fused(target, [&](const Tensor& x, const Tensor& w, const Tensor& b, const NormEpilogue& then) {
      return batch_norm(x, rm.to(x.dtype()).to(x.device()), rv.to(x.dtype()).to(x.device()), w, b, false, 0.1, 1e-5, then);
    }, in);
  });
}

TEST_CASE_ON_DEVICES("group_norm with a fused residual and ReLU equals its parts for G = 1, 4 and C") {
  Generator gen(22);
  const std::vector<Tensor> in = inputs(gen, {3, 12, 5, 7});
  test::on_each_path_of(target, [&] {
    for (int64_t g : {1, 4, 12}) {
      CAPTURE(g);
      check_fused(target, [g](const Tensor& x, const Tensor& w, const Tensor& b, const NormEpilogue& then) {
        return group_norm(x, g, w, b, 1e-5, then);
      }, in);
    }
  });
}

TEST_CASE("gradcheck: batch_norm and group_norm with a fused residual and ReLU") {
  Generator gen(23);
  const std::vector<Tensor> in = inputs(gen, {3, 4, 3, 2});
  for (const Epilogue& e : kEpilogues) {
    CAPTURE(std::string(e.name));
    test::check_gradcheck([&](In t) { return fused([](const Tensor& x, const Tensor& w, const Tensor& b,
                                                        const NormEpilogue& then) {
                                                     return batch_norm(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5, then);
                                                   }, t, e); }, used(in, e));
    test::check_gradcheck([&](In t) { return fused([](const Tensor& x, const Tensor& w, const Tensor& b,
                                                        const NormEpilogue& then) {
                                                     return group_norm(x, 2, w, b, 1e-5, then);
                                                   }, t, e); }, used(in, e));
  }
}

TEST_CASE_ON_DEVICES_WITH("batch_norm and group_norm with a fused residual and ReLU match PyTorch", kFloat32) {
  test::compare_with_torch("layers", "bn_residual_relu", 4, [](In x) {
    return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true, 0.1, 1e-5, {x[3], true});
  }, target.device);
  test::compare_with_torch("layers", "group_norm_residual_relu", 4, [](In x) {
    return group_norm(x[0], 4, x[1], x[2], 1e-5, {x[3], true});
  }, target.device);
}

TEST_CASE("fused norms reject a residual of another shape, dtype or a ReLU output of another shape") {
  const Tensor x = zeros({2, 4, 3, 3});
  CHECK_ERROR(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, {zeros({2, 4, 3, 2}), true}),
              "batch_norm: expected residual of shape [2, 4, 3, 3], found [2, 4, 3, 2]");
  CHECK_ERROR(group_norm(x, 2, Tensor(), Tensor(), 1e-5, {zeros({2, 4, 3, 3}, kFloat64), true}),
              "group_norm: residual has dtype float64, the input float32");
  CHECK_ERROR(kernels::group_norm_backward(x, x, zeros({2, 2}), ones({2, 2}), Tensor(), 2, true, false, zeros({2, 4})),
              "group_norm_backward: expected the ReLU's output of shape [2, 4, 3, 3], found [2, 4]");
}

// norm_relu runs op by op where a norm has a forward hook (which must see the norm's own output).
// A hook on every norm thus gives the unfused model: outputs, parameter gradients and the running
// statistics must equal the fused model's.
TEST_CASE("ResNets with fused norm + ReLU equal the same models op by op, BN and GN, forward and backward") {
  for (const char* arch : {"resnet20", "preresnet29"})
    for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
      CAPTURE(arch);
      CAPTURE(to_string(norm));
      ModelOptions options;
      options.arch = arch;
      options.norm = norm;
      std::vector<NamedTensors> results;
      for (bool fuse : {true, false}) {
        manual_seed(5);
        std::shared_ptr<Module> model = build_model(options);
        model->to(kFloat64);
        int hooked = 0;
        if (!fuse)
          for (auto& [name, m] : model->named_modules())
            if (m->type_name() == "BatchNorm2d" || m->type_name() == "GroupNorm") {
              m->register_forward_hook([](Module&, const Tensor&, const Tensor&) {});
              ++hooked;
            }
        CHECK((fuse || hooked > 0));
        Generator gen(6);
        const Tensor x = randn({4, 3, 8, 8}, kFloat64, gen);
        Tensor y = (*model)(x);
        sum(y * y).backward();
        NamedTensors r = {{"output", y.detach()}};
        for (auto& [name, p] : model->named_parameters()) r.emplace_back(name + ".grad", p.grad());
        for (auto& [name, b] : model->named_buffers()) r.emplace_back(name, b);
        results.push_back(r);
      }
      REQUIRE(results[0].size() == results[1].size());
      for (size_t i = 0; i < results[0].size(); ++i) {
        if (!is_floating(results[0][i].second.dtype())) continue;
        test::check_close(results[0][i].second, results[1][i].second, 1e-12, results[0][i].first);
      }
    }
}
