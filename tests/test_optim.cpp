// Optimizers and schedules: parameter groups, exact resume from a state dict, schedule values.
#include <cmath>

#include "devices.h"
#include "fixtures.h"

using namespace minidl;

namespace {

// A quadratic bowl: loss = Σ (w − target)²
Tensor loss_of(const Tensor& w) { return sum(pow(w - from_vector<float>({1, -2, 3}), 2.0)); }

template <typename Opt>
std::vector<float> train(Opt& opt, Tensor& w, int steps) {
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    loss_of(w).backward();
    opt.step();
  }
  return w.to_vector<float>();
}

}  // namespace

TEST_CASE("optimizers minimize a quadratic") {
  Tensor w1 = zeros({3}).requires_grad_(), w2 = zeros({3}).requires_grad_(), w3 = zeros({3}).requires_grad_();
  SGD sgd({w1}, {.lr = 0.1, .momentum = 0.9});
  Adam adam({w2}, {.lr = 0.1});
  AdamW adamw({w3}, {.lr = 0.1, .weight_decay = 0});
  for (auto* w : {&w1, &w2, &w3}) CAPTURE(w->to_vector<float>()[0]);
  train(sgd, w1, 200);
  train(adam, w2, 500);
  train(adamw, w3, 500);
  for (const Tensor& w : {w1, w2, w3}) test::check_values(w, {3}, {1, -2, 3}, 1e-2);
}

TEST_CASE("parameter groups have their own learning rate and weight decay") {
  Conv2d conv(2, 3, 3);
  BatchNorm2d bn(3);
  NamedTensors named = conv.named_parameters();
  for (auto& p : bn.named_parameters()) named.push_back(p);
  std::vector<ParamGroup> groups = split_weight_decay(named, 5e-4);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].params.size() == 1);  // conv.weight
  CHECK(groups[1].params.size() == 3);  // conv.bias, bn.weight, bn.bias
  SGD opt(groups, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1.0});
  CHECK(opt.weight_decay(0) == 5e-4);
  CHECK(opt.weight_decay(1) == 0.0);
  // A parameter without a gradient is left alone; weight decay applies only to group 0.
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  SGD two({ParamGroup{{a}, 0.5, 0.1}, ParamGroup{{b}, 1.0, 0.0}}, {.lr = 0.01});
  sum(a * 0.0).backward();
  two.step();
  test::check_values(a, {2}, {1 - 0.5 * 0.1, 1 - 0.5 * 0.1});
  test::check_values(b, {2}, {1, 1});
  CHECK_ERROR(SGD({a}, {.lr = 0.1, .nesterov = true}), "SGD: Nesterov momentum requires momentum > 0");
  CHECK_ERROR(SGD({a * 2.0}, {.lr = 0.1}), "SGD: every parameter must be a leaf tensor that requires grad");
}

TEST_CASE("an optimizer resumed from its state dict continues exactly") {
  auto run = [](auto make) {
    Tensor w = zeros({3}).requires_grad_();
    auto opt = make(w);
    train(opt, w, 3);
    const NamedTensors saved = opt.state_dict();
    const std::vector<float> at3 = w.to_vector<float>();
    const std::vector<float> straight = train(opt, w, 4);

    Tensor w2 = from_vector<float>(at3).requires_grad_();
    auto resumed = make(w2);
    resumed.load_state_dict(saved);
    CHECK(train(resumed, w2, 4) == straight);
  };
  run([](Tensor& w) { return SGD({w}, {.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true}); });
  run([](Tensor& w) { return Adam({w}, {.lr = 0.05, .weight_decay = 1e-3}); });
  run([](Tensor& w) { return AdamW({w}, {.lr = 0.05}); });

  Tensor w = zeros({3}).requires_grad_();
  SGD opt({w}, {.lr = 0.1, .momentum = 0.9});
  CHECK_ERROR(opt.load_state_dict({{"state.5.momentum_buffer", zeros({3})}}), "refers to parameter 5, but this optimizer has 1");
  CHECK_ERROR(opt.load_state_dict({{"state.0.momentum_buffer", zeros({4})}}), "has shape [4], the parameter [3]");
  CHECK_ERROR(opt.load_state_dict({{"bogus", zeros({1})}}), "SGD.load_state_dict: unexpected key 'bogus'");
}

TEST_CASE("learning-rate schedules follow their closed forms") {
  Tensor w = zeros({1}).requires_grad_();
  SGD opt({w}, {.lr = 1.0});
  StepLR step(opt, 3, 0.5);
  std::vector<double> lrs;
  for (int i = 0; i < 7; ++i) {
    lrs.push_back(opt.lr());
    step.step();
  }
  CHECK(lrs == std::vector<double>{1, 1, 1, 0.5, 0.5, 0.5, 0.25});

  SGD opt2({w}, {.lr = 1.0});
  MultiStepLR multi(opt2, {2, 4}, 0.1);
  CHECK(multi.lr_at(1.0, 1) == 1.0);
  CHECK(multi.lr_at(1.0, 2) == doctest::Approx(0.1));
  CHECK(multi.lr_at(1.0, 5) == doctest::Approx(0.01));

  SGD opt3({w}, {.lr = 0.1});
  auto cosine = std::make_shared<CosineAnnealingLR>(opt3, 10, 0.0);
  CHECK(cosine->lr_at(0.1, 5) == doctest::Approx(0.05));
  CHECK(cosine->lr_at(0.1, 10) == doctest::Approx(0.0));
  LinearWarmup warm(opt3, 5, 0.1, cosine);
  CHECK(opt3.lr() == doctest::Approx(0.01));  // 0.1 · start_factor at step 0
  for (int i = 0; i < 5; ++i) warm.step();
  CHECK(opt3.lr() == doctest::Approx(0.05));  // warm-up done: the cosine value at step 5
  const NamedTensors state = warm.state_dict();
  warm.step();
  warm.load_state_dict(state);
  CHECK(warm.last_step() == 5);
  CHECK(opt3.lr() == doctest::Approx(0.05));
}

TEST_CASE_ON_DEVICES_WITH("SGD (momentum, weight decay, Nesterov), Adam and AdamW steps match PyTorch", kFloat32) {
  auto fixture = [](const std::string& name) { return test::fixture("layers", name); };
  auto run = [&](const std::string& name, auto make) {
    CAPTURE(name);
    Tensor p = fixture("optim_param").to(target.device).detach().requires_grad_();
    auto opt = make(std::vector<Tensor>{p});
    for (int step = 1; step <= 2; ++step) {
      // A gradient as backward would leave it: d(sum(p·g))/dp = g.
      p.zero_grad();
      sum(p * fixture("optim_grad" + std::to_string(step)).to(target.device)).backward();
      opt.step();
      CHECK(p.device() == target.device);
      test::check_matches(p, fixture(name + "_step" + std::to_string(step)), "parameter after step " + std::to_string(step));
    }
  };
  run("sgd", [](std::vector<Tensor> ps) { return SGD(ps, {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}); });
  run("sgd_nesterov", [](std::vector<Tensor> ps) { return SGD(ps, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); });
  run("adam", [](std::vector<Tensor> ps) { return Adam(ps, {.lr = 0.01, .weight_decay = 1e-2}); });
  run("adamw", [](std::vector<Tensor> ps) { return AdamW(ps, {.lr = 0.01, .weight_decay = 1e-2}); });
}

TEST_CASE_ON_DEVICES("SGD and AdamW steps on a Linear layer equal the float64 CPU steps") {
  for (bool adam : {false, true}) {
    CAPTURE(adam);
    Linear reference(6, 4), layer(6, 4);
    reference.to(kFloat64);
    layer.load_state_dict(reference.state_dict());
    layer.to(target.dtype);
    layer.to(target.device);
    auto make = [adam](std::vector<Tensor> ps) -> std::unique_ptr<Optimizer> {
      if (adam) return std::make_unique<AdamW>(ps, AdamOptions{.lr = 0.01, .weight_decay = 0.1});
      return std::make_unique<SGD>(ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
    };
    std::unique_ptr<Optimizer> opt_ref = make(reference.parameters()), opt = make(layer.parameters());
    Generator gen(3);
    const Tensor x = randn({5, 6}, kFloat64, gen);
    for (int step = 0; step < 3; ++step) {
      opt_ref->zero_grad();
      opt->zero_grad();
      sum(reference(x) * reference(x)).backward();
      sum(layer(target.put(x)) * layer(target.put(x))).backward();
      opt_ref->step();
      opt->step();
    }
    for (size_t i = 0; i < reference.parameters().size(); ++i)
      test::check_close(layer.parameters()[i], reference.parameters()[i], target.tolerance(), "parameter after 3 steps");
  }
}
