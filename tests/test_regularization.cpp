// What train's regularization flags use: Dropout, clip_grad_norm_, the weights' moving average —
// the deterministic test split of an image folder, and frozen BatchNorm in the training loop.
#include "helpers.h"

#include "../examples/training.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;

}  // namespace

TEST_CASE("dropout keeps 1 - p of the elements, scaled by 1 / (1 - p), and is the identity in eval") {
  Generator gen(7);
  const Tensor x = ones({200, 100}, kFloat64);
  const std::vector<double> y = dropout(x, 0.3, true, gen).to_vector<double>();
  int64_t kept = 0;
  for (double v : y) {
    CHECK((v == 0 || std::abs(v - 1 / 0.7) < 1e-12));
    kept += v != 0;
  }
  CHECK(std::abs(static_cast<double>(kept) / 20000 - 0.7) < 0.02);  // 0.7 ± 6 standard deviations
  CHECK(dropout(x, 0.3, false).is_same(x));
  CHECK(dropout(x, 0.0, true).is_same(x));
  CHECK(sum(dropout(x, 1.0, true)).item<double>() == 0);  // p = 1 drops everything, as in PyTorch
  CHECK_ERROR(dropout(x, 1.5, true), "dropout: expected a probability p in [0, 1], found 1.5");
  CHECK_ERROR(Dropout(-0.1), "Dropout: expected a probability p in [0, 1], found -0.1");

  Dropout layer(0.5);
  layer.eval();
  CHECK(layer(x).is_same(x));
  layer.train();
  CHECK(sum(layer(x)).item<double>() != 20000);
}

TEST_CASE("gradcheck: dropout (its mask fixed by the generator's seed)") {
  Generator gen(8);
  const Tensor x = randn({4, 6}, kFloat64, gen);
  test::check_gradcheck([](In in) {
    Generator mask(9);  // the same mask on every evaluation of the function
    return dropout(in[0], 0.4, true, mask);
  }, {x});
  // The gradient is the mask itself: 0 where dropped, 1 / (1 - p) where kept.
  Tensor leaf = x.detach().requires_grad_();
  Generator mask(9);
  const Tensor y = dropout(leaf, 0.4, true, mask);
  sum(y).backward();
  const std::vector<double> g = leaf.grad().to_vector<double>(), out = y.to_vector<double>(), in = x.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) CHECK(out[i] == doctest::Approx(in[i] * g[i]));
}

TEST_CASE("clip_grad_norm_ scales all gradients by max_norm / total norm, as PyTorch's") {
  Tensor a = from_vector<double>({3, 4}).requires_grad_(), b = from_vector<double>({12}).requires_grad_();
  sum(a * from_vector<double>({3, 4})).backward();
  sum(b * 12.0).backward();
  // PyTorch 1.13 on the same gradients: returns 13.0, a.grad [1.4999998807907104, 1.9999998807907104]
  // (float32), b.grad [5.999999523162842].
  CHECK(clip_grad_norm_({a, b}, 6.5) == doctest::Approx(13.0));
  const double scale = 6.5 / (13.0 + 1e-6);
  test::check_values(a.grad(), {2}, {3 * scale, 4 * scale}, 1e-15);
  test::check_values(b.grad(), {1}, {12 * scale}, 1e-15);
  CHECK(clip_grad_norm_({a, b}, 100) == doctest::Approx(6.5).epsilon(1e-6));  // under the limit: unchanged
  test::check_values(b.grad(), {1}, {12 * scale}, 1e-15);
  Tensor none = zeros({2}).requires_grad_();
  CHECK(clip_grad_norm_({none}, 1) == 0);  // no gradient yet: skipped
  CHECK_ERROR(clip_grad_norm_({a}, 0), "clip_grad_norm_: expected max_norm > 0, found 0");
}

TEST_CASE("the exponential moving average follows decay·ema + (1 − decay)·w and copies integer buffers") {
  manual_seed(0);
  BatchNorm2d bn(2);
  ExponentialMovingAverage ema(bn, 0.9);
  const std::vector<double> w0 = bn.state_dict()[0].second.to_vector<double>();
  {
    NoGradGuard no_grad;
    bn.named_parameters()[0].second.set_data(from_vector<float>({3, 5}));  // weight
  }
  bn(randn({4, 2, 3, 3}));  // a training forward: running stats and num_batches_tracked move
  ema.update(bn);
  const NamedTensors avg = ema.state_dict();
  REQUIRE(avg[0].first == "weight");
  test::check_values(avg[0].second, {2}, {0.9 * w0[0] + 0.1 * 3, 0.9 * w0[1] + 0.1 * 5}, 1e-6);
  for (const auto& [name, t] : avg)
    if (name == "num_batches_tracked") CHECK(t.to_vector<double>()[0] == 1);
  CHECK_ERROR(ExponentialMovingAverage(bn, 1.0), "ExponentialMovingAverage: expected a decay in [0, 1), found 1");
  BatchNorm2d other(2);
  ExponentialMovingAverage restored(other, 0.9);
  restored.load_state_dict(avg);
  test::check_values(restored.state_dict()[0].second, {2}, avg[0].second.to_vector<double>(), 0);
}

TEST_CASE("split_dataset holds out an evenly spaced fraction of each class, the same every time") {
  ImageDataset d;
  d.channels = d.height = d.width = 1;
  d.num_classes = 2;
  for (int i = 0; i < 20; ++i) {
    d.pixels.push_back(static_cast<uint8_t>(i));
    d.labels.push_back(i < 10 ? 0 : 1);
  }
  const ImageDataset test = split_dataset(d, 0.2, true), train = split_dataset(d, 0.2, false);
  CHECK(test.size() == 4);  // 2 of each class's 10
  CHECK(train.size() == 16);
  CHECK(test.pixels == std::vector<uint8_t>{4, 9, 14, 19});  // positions 4 and 9 of each class
  CHECK(split_dataset(d, 0.0, true).size() == 0);
  CHECK_ERROR(split_dataset(d, 1.0, true), "split_dataset: expected a test fraction in [0, 1), found 1");
}

TEST_CASE("train_steps with freeze_bn keeps BatchNorm's running statistics and trains its γ and β") {
  ImageDataset d;
  d.name = "tiny";
  d.channels = 1;
  d.height = d.width = 8;
  d.num_classes = 2;
  for (int i = 0; i < 8; ++i) {
    for (int p = 0; p < 64; ++p) d.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11) % 256));
    d.labels.push_back(i % 2);
  }
  ModelOptions o;
  o.in_channels = 1;
  o.num_classes = 2;
  manual_seed(5);
  auto model = build_model(o);
  const std::vector<double> mean_before = model->state_dict()[3].second.to_vector<double>();  // bn1.running_mean
  REQUIRE(model->state_dict()[3].first == "bn1.running_mean");
  const std::vector<double> gamma_before = model->state_dict()[1].second.to_vector<double>();
  SGDOptions so;
  so.lr = 0.1;
  SGD opt(model->parameters(), so);
  DataLoader loader(d, 2, true, true, Transform{}, 0);
  examples::StepOptions step;
  step.freeze_bn = true;
  examples::train_steps(*model, opt, loader, 3, "frozen", step);
  CHECK(model->state_dict()[3].second.to_vector<double>() == mean_before);
  CHECK(model->state_dict()[1].second.to_vector<double>() != gamma_before);
  step.freeze_bn = false;
  examples::train_steps(*model, opt, loader, 1, "not frozen", step);
  CHECK(model->state_dict()[3].second.to_vector<double>() != mean_before);
}
