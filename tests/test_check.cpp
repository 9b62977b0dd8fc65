// Layer-by-layer gradient checking: it passes on real models, and it names a planted wrong layer.
#include "helpers.h"

#include <minidl/core/kernels.h>

using namespace minidl;

namespace {

// y = 2x whose backward claims dy/dx = 2.2: the bug the checker must find.
class BrokenDouble : public Module {
 public:
  Tensor forward(const Tensor& x) override {
    Tensor y = kernels::scale(x, 2.0);
    return record("BrokenDoubleBackward", y, {x},
                  [](const Tensor& g, const Needs&) -> Grads { return {kernels::scale(g, 2.2)}; });
  }
  std::string type_name() const override { return "BrokenDouble"; }
};

// A block with a parameter of its own beside a child: y = child(x) · scale, whose backward gives
// the scale a gradient 10 % too large.
class ScaledBlock : public Module {
 public:
  ScaledBlock() {
    register_module("conv", std::make_shared<Conv2d>(1, 1, 3, 1, 1));
    scale_ = register_parameter("scale", from_vector<double>({1.5}));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor h = child("conv")(x);
    Tensor y = kernels::binary(kernels::BinaryOp::Mul, h, scale_);
    return record("ScaledBlockBackward", y, {h, scale_}, [h = h.detach(), s = scale_.detach()](const Tensor& g, const Needs&) -> Grads {
      const Tensor ds = kernels::reshape(kernels::sum(kernels::binary(kernels::BinaryOp::Mul, g, h), {}, false), {1});
      return {kernels::binary(kernels::BinaryOp::Mul, g, s), kernels::scale(ds, 1.1)};
    });
  }
  std::string type_name() const override { return "ScaledBlock"; }

 private:
  Tensor scale_;
};

}  // namespace

TEST_CASE("check_layers checks a block's own parameters in the block's row") {
  manual_seed(0);
  ScaledBlock block;
  block.to(kFloat64);
  Generator gen(4);
  const std::vector<LayerCheck> rows = check_layers(block, randn({1, 1, 4, 4}, kFloat64, gen));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].name == "conv");
  CHECK(rows[0].ok);
  CHECK(rows[1].name == "(model)");
  CHECK(!rows[1].ok);
  CHECK(rows[1].worst == "scale");
}

TEST_CASE("check_layers passes every module of resnet20 and preresnet29, with BN and with GN") {
  for (const char* arch : {"resnet20", "preresnet29"}) {
    for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
      INFO(arch, " ", to_string(norm));
      ModelOptions o;
      o.arch = arch;
      o.norm = norm;
      o.in_channels = 1;
      manual_seed(1);
      auto model = build_model(o);
      LayerCheckOptions options;
      options.max_elements = 6;
      Generator gen(2);
      const std::vector<LayerCheck> rows = check_layers(*model, randn({2, 1, 8, 8}, kFloat64, gen), options);
      CHECK(rows.size() > 40);
      CHECK(rows.front().name == "conv1");
      CHECK(rows.back().name == "(model)");
      for (const LayerCheck& r : rows) {
        INFO(r.name, " ", r.type, " max rel ", r.max_rel_error);
        CHECK(r.ok);
        CHECK(r.max_rel_error < 1e-6);
      }
    }
  }
}

TEST_CASE("check_layers names the layer with a wrong backward") {
  manual_seed(0);  // the layers' initial weights, whatever ran before in this process
  Sequential net({std::make_shared<Conv2d>(1, 2, 3, 1, 1), std::make_shared<ReLU>(), std::make_shared<BrokenDouble>(),
                  std::make_shared<Flatten>(), std::make_shared<Linear>(2 * 4 * 4, 3)});
  Generator gen(3);
  const std::vector<LayerCheck> rows = check_layers(net, randn({2, 1, 4, 4}, kFloat64, gen));
  std::vector<std::string> failing;
  for (const LayerCheck& r : rows)
    if (!r.ok) failing.push_back(r.name + " " + r.type);
  // The planted layer fails, and so does the model that contains it — nothing else.
  CHECK(failing == std::vector<std::string>{"2 BrokenDouble", "(model) Sequential"});
  CHECK(rows[2].worst == "input");
  // The model's row checks what flows through every layer to its input (the parameters are each
  // checked in the row of the layer that holds them).
  CHECK(rows.back().worst == "input");
  CHECK(rows[2].max_rel_error == doctest::Approx(0.2 / 2.2).epsilon(1e-3));
}
