// The norms with a fused epilogue, relu(norm(x) + residual) (functional.h's NormEpilogue): the
// fused op against its parts, op by op in float64, on every device and CPU path; gradcheck; the
// ResNets, which use it through models/norm.h's norm_relu, against the same models run op by op.
// And inference's conv2d_batch_norm_eval (an eval BatchNorm in the convolution's output pass) and
// conv2d_group_norm (a GroupNorm on each sample as the convolution writes it) against conv2d then
// the norm, their errors, and the ResNets that use them (conv_norm_relu).
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

// float32 sums run in vector lanes over 256-value blocks, each block's sums then added in double
// (core/cpu/norm_loops.h's sum_and_dot), the moments in runs of 4096 values: sets that end inside a
// 32-value step, a block and a run, with a mean 50 standard deviations from zero, on every CPU path.
// H·W = 61² = 3721 = 14 blocks + 137 (four steps + 9); GroupNorm's set of 3 channels is 11163
// values: two whole runs and a ragged third. Forward and backward (the mask, kept and summed in one
// loop) against float64.
TEST_CASE_ON_DEVICES("float32 norms with the fused ReLU over long, ragged sets equal float64") {
  Generator gen(41);
  const Tensor x = randn({2, 3, 61, 61}, kFloat64, gen) * 2.0 + 100.0;
  const Tensor w = randn({3}, kFloat64, gen), b = randn({3}, kFloat64, gen) * 0.1;  // about half the outputs > 0
  test::on_each_path_of(target, [&] {
    test::check_against_cpu_float64(target, {x, w, b}, [](In in) {
      return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true, 0.1, 1e-5, {Tensor(), true});
    }, target.tolerance());
    test::check_against_cpu_float64(target, {x, w, b}, [](In in) {
      return group_norm(in[0], 1, in[1], in[2], 1e-5, {Tensor(), true});
    }, target.tolerance());
  });
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

// ---- inference: the norm applied by the convolution ----

// The convolutions whose outputs the CPU writes by different code — shifted windows (3x3, stride
// 1 and 2, padding 1 and 0), the 1x1 GEMM and a strided 1x1 — with Auto and, on the CPU, both
// Winograd tile sizes forced: fn(x, w, the case, conv2d(x, w), a residual of its shape).
namespace {
struct ConvCase {
  int64_t n, k, stride, padding, h, w;
};
const std::vector<ConvCase> kConvCases = {
    {3, 3, 1, 1, 9, 8}, {3, 3, 2, 1, 9, 8}, {3, 1, 1, 0, 5, 7}, {3, 1, 2, 0, 6, 5}, {3, 3, 1, 0, 10, 10}};
template <typename Fn>
void for_each_conv(const test::Target& target, Generator& gen, const std::vector<ConvCase>& cases, int64_t C,
                   int64_t K, Fn fn) {
  const ConvAlgorithm algorithms[] = {ConvAlgorithm::Auto, ConvAlgorithm::Winograd, ConvAlgorithm::Winograd4};
  test::on_each_path_of(target, [&] {
    for (const ConvAlgorithm algorithm : algorithms) {
      if (algorithm != ConvAlgorithm::Auto && !target.device.is_cpu()) continue;
      CAPTURE(static_cast<int>(algorithm));
      set_cpu_conv_algorithm(algorithm);
      for (const ConvCase& cv : cases) {
        CAPTURE(cv.n);
        CAPTURE(cv.k);
        CAPTURE(cv.stride);
        CAPTURE(cv.padding);
        const Tensor x = target.put(randn({cv.n, C, cv.h, cv.w}, kFloat64, gen));
        const Tensor w = target.put(randn({K, C, cv.k, cv.k}, kFloat64, gen));
        const Tensor conv = conv2d(x, w, Tensor(), cv.stride, cv.padding);
        fn(x, w, cv, conv, target.put(randn(conv.shape(), kFloat64, gen)));
      }
    }
    set_cpu_conv_algorithm(ConvAlgorithm::Auto);
  });
}
}  // namespace

// conv2d_batch_norm_eval against conv2d then batch_norm in eval, bitwise: the fused pass runs
// BatchNorm's own loop with the same scale and shift. Every output writer of the CPU convolution
// and, elsewhere, the fallback (the two kernels).
TEST_CASE_ON_DEVICES("conv2d_batch_norm_eval equals conv2d then an eval batch_norm, bitwise, every conv algorithm") {
  Generator gen(31);
  const int64_t C = 5, K = 6;
  const Tensor rm = randn({K}, kFloat64, gen), rv = rand({K}, kFloat64, gen) + 0.5;
  const Tensor bw = randn({K}, kFloat64, gen), bb = randn({K}, kFloat64, gen);
  NoGradGuard no_grad;
  for_each_conv(target, gen, kConvCases, C, K, [&](const Tensor& x, const Tensor& w, const ConvCase& cv,
                                                   const Tensor& conv, const Tensor& r) {
    const Tensor mean = target.put(rm), var = target.put(rv);
    for (bool affine : {true, false}) {
      const Tensor gamma = affine ? target.put(bw) : Tensor(), beta = affine ? target.put(bb) : Tensor();
      for (const Epilogue& e : {Epilogue{"none", false, false}, kEpilogues[0], kEpilogues[1], kEpilogues[2]}) {
        CAPTURE(affine);
        CAPTURE(std::string(e.name));
        const NormEpilogue then{e.residual ? r : Tensor(), e.relu};
        const Tensor fused = conv2d_batch_norm_eval(x, w, cv.stride, cv.padding, mean, var, gamma, beta, 1e-5, then);
        const Tensor parts = batch_norm(conv, mean, var, gamma, beta, /*training=*/false, 0.1, 1e-5, then);
        REQUIRE(fused.shape() == parts.shape());
        CHECK(fused.to_vector<double>() == parts.to_vector<double>());
      }
    }
  });
}

TEST_CASE("conv2d_batch_norm_eval refuses what needs a graph, and statistics or a residual of another shape") {
  const Tensor x = zeros({2, 3, 5, 5}), w = zeros({4, 3, 3, 3}), m = zeros({4}), v = ones({4});
  {
    const Tensor xg = zeros({2, 3, 5, 5}).requires_grad_();
    CHECK_ERROR(conv2d_batch_norm_eval(xg, w, 1, 1, m, v, Tensor(), Tensor()),
                "conv2d_batch_norm_eval: inference only (it records no graph), found an input that requires grad");
    NoGradGuard no_grad;  // the same input is fine without a graph
    CHECK(conv2d_batch_norm_eval(xg, w, 1, 1, m, v, Tensor(), Tensor()).shape() == Shape{2, 4, 5, 5});
  }
  NoGradGuard no_grad;
  CHECK_ERROR(conv2d_batch_norm_eval(x, w, 1, 1, Tensor(), v, Tensor(), Tensor()),
              "conv2d_batch_norm_eval: expected running_mean and running_var");
  CHECK_ERROR(conv2d_batch_norm_eval(x, w, 1, 1, zeros({3}), v, Tensor(), Tensor()),
              "conv2d_batch_norm_eval: expected running_mean of shape [4], found [3]");
  CHECK_ERROR(conv2d_batch_norm_eval(x, w, 1, 1, m, v, ones({4}), zeros({4}), 1e-5, {zeros({2, 4, 5, 4}), true}),
              "conv2d_batch_norm_eval: expected a residual of the output's shape [2, 4, 5, 5], found [2, 4, 5, 4]");
  CHECK_ERROR(conv2d_batch_norm_eval(x, zeros({4, 2, 3, 3}), 1, 1, m, v, Tensor(), Tensor()),
              "conv2d_batch_norm_eval: input has 3 channels but the weight expects 2");
}

// conv2d_group_norm against conv2d then group_norm, bitwise: the fused pass runs GroupNorm's own
// loop on each sample (or chunk of samples) of the output. Every output writer of the CPU
// convolution, as above, groups of 1 to 6 channels; and a sample alone on 2 threads (the norm then
// runs across the team after the convolution, rather than on the thread that wrote the sample).
TEST_CASE_ON_DEVICES("conv2d_group_norm equals conv2d then group_norm, bitwise, every conv algorithm") {
  Generator gen(32);
  const int64_t C = 5, K = 6;
  const Tensor gw = randn({K}, kFloat64, gen), gb = randn({K}, kFloat64, gen);
  std::vector<ConvCase> cases = kConvCases;
  cases.push_back({1, 3, 1, 1, 72, 72});
  NoGradGuard no_grad;
  for_each_conv(target, gen, cases, C, K, [&](const Tensor& x, const Tensor& w, const ConvCase& cv,
                                              const Tensor& conv, const Tensor& r) {
    for (int64_t groups : {1, 2, 3, 6}) {
      for (bool affine : {true, false}) {
        const Tensor gamma = affine ? target.put(gw) : Tensor(), beta = affine ? target.put(gb) : Tensor();
        for (const Epilogue& e : {Epilogue{"none", false, false}, kEpilogues[0], kEpilogues[1], kEpilogues[2]}) {
          CAPTURE(groups);
          CAPTURE(affine);
          CAPTURE(std::string(e.name));
          const NormEpilogue then{e.residual ? r : Tensor(), e.relu};
          const Tensor fused = conv2d_group_norm(x, w, cv.stride, cv.padding, groups, gamma, beta, 1e-5, then);
          const Tensor parts = group_norm(conv, groups, gamma, beta, 1e-5, then);
          REQUIRE(fused.shape() == parts.shape());
          CHECK(fused.to_vector<double>() == parts.to_vector<double>());
        }
      }
    }
  });
}

TEST_CASE("conv2d_group_norm refuses what needs a graph, groups that do not divide, parameters of another shape") {
  const Tensor x = zeros({2, 3, 5, 5}), w = zeros({4, 3, 3, 3});
  {
    const Tensor xg = zeros({2, 3, 5, 5}).requires_grad_();
    CHECK_ERROR(conv2d_group_norm(xg, w, 1, 1, 2, Tensor(), Tensor()),
                "conv2d_group_norm: inference only (it records no graph), found an input that requires grad");
    NoGradGuard no_grad;  // the same input is fine without a graph
    CHECK(conv2d_group_norm(xg, w, 1, 1, 2, Tensor(), Tensor()).shape() == Shape{2, 4, 5, 5});
  }
  NoGradGuard no_grad;
  CHECK_ERROR(conv2d_group_norm(x, w, 1, 1, 3, Tensor(), Tensor()),
              "conv2d_group_norm: 4 output channels cannot be split into 3 groups");
  CHECK_ERROR(conv2d_group_norm(x, w, 1, 1, 0, Tensor(), Tensor()),
              "conv2d_group_norm: 4 output channels cannot be split into 0 groups");
  CHECK_ERROR(conv2d_group_norm(x, w, 1, 1, 2, ones({3}), Tensor()),
              "conv2d_group_norm: expected gn_weight of shape [4], found [3]");
  CHECK_ERROR(conv2d_group_norm(x, w, 1, 1, 2, Tensor(), Tensor(), 0.0), "conv2d_group_norm: expected eps > 0");
  CHECK_ERROR(conv2d_group_norm(x, w, 1, 1, 2, Tensor(), Tensor(), 1e-5, {zeros({2, 4, 5, 4}), true}),
              "conv2d_group_norm: expected a residual of the output's shape [2, 4, 5, 5], found [2, 4, 5, 4]");
  CHECK_ERROR(conv2d_group_norm(x, zeros({4, 2, 3, 3}), 1, 1, 2, Tensor(), Tensor()),
              "conv2d_group_norm: input has 3 channels but the weight expects 2");
}

// In inference (NoGradGuard, eval) models/norm.h's conv_norm_relu applies each BatchNorm in its
// convolution's output pass, and each GroupNorm to each sample as its convolution writes it; a
// forward hook on a norm makes it run op by op (conv, then the fused norm + ReLU). The outputs must
// be equal bitwise: BasicBlocks (resnet20, and resnet18's ImageNet stem), Bottlenecks (resnet50)
// and pre-activation blocks (preresnet29: bn2 and bn3, after conv1 and conv2).
TEST_CASE("ResNets in inference: each norm applied by its convolution, the same outputs as op by op") {
  for (const NormKind kind : {NormKind::BatchNorm, NormKind::GroupNorm})
  for (const char* arch : {"resnet20", "resnet18", "resnet50", "preresnet29"}) {
    CAPTURE(arch);
    CAPTURE(to_string(kind));
    ModelOptions options;
    options.arch = arch;
    options.norm = kind;
    std::vector<Tensor> outputs;
    for (bool fuse : {true, false}) {
      manual_seed(7);
      std::shared_ptr<Module> model = build_model(options);
      Generator gen(8);
      for (auto& [name, b] : model->named_buffers()) {  // statistics that are not the identity
        Tensor value;
        if (name.find("running_mean") != std::string::npos) value = randn(b.shape(), kFloat32, gen) * 0.1;
        if (name.find("running_var") != std::string::npos) value = rand(b.shape(), kFloat32, gen) + 0.5;
        if (value.defined()) std::copy(value.data<float>(), value.data<float>() + value.numel(), b.data<float>());
      }
      model->eval();
      if (!fuse)
        for (auto& [name, m] : model->named_modules())
          if (m->type_name() == "BatchNorm2d" || m->type_name() == "GroupNorm")
            m->register_forward_hook([](Module&, const Tensor&, const Tensor&) {});
      NoGradGuard no_grad;
      outputs.push_back((*model)(randn({2, 3, 32, 32}, kFloat32, gen)));
    }
    CHECK(outputs[0].to_vector<double>() == outputs[1].to_vector<double>());
  }
}
