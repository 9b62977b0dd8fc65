// ResNets: parameter counts, PyTorch fixtures (logits, loss, every gradient), options, and the
// BN → GN swap.
#include <algorithm>
#include <cmath>

#include "fixtures.h"

#include <minidl/core/kernels.h>

using namespace minidl;

namespace {

int64_t count_parameters(Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

std::shared_ptr<Module> model(const std::string& arch, NormKind norm, int64_t classes = 10, int64_t groups = 0) {
  ModelOptions o;
  o.arch = arch;
  o.norm = norm;
  o.num_classes = classes;
  o.groups = groups;
  return build_model(o);
}

// The weights tests/fixtures/make_model_fixtures.py uses: parameter i from Generator(1000 + i).
void set_fixture_weights(Module& m) {
  int i = 0;
  for (auto& [name, p] : m.named_parameters()) {
    Generator gen(static_cast<uint64_t>(1000 + i++));
    const Tensor n = randn(p.shape(), kFloat64, gen);
    const bool norm_weight = p.dim() == 1 && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    Tensor value = p.dim() > 1 ? n / std::sqrt(static_cast<double>(p.numel() / p.size(0))) : (norm_weight ? n * 0.1 + 1.0 : n * 0.1);
    kernels::copy_(p, value);
  }
}

}  // namespace

TEST_CASE("parameter counts equal torchvision's and He et al.'s") {
  CHECK(count_parameters(*model("resnet18", NormKind::BatchNorm, 1000)) == 11689512);
  CHECK(count_parameters(*model("resnet50", NormKind::BatchNorm, 1000)) == 25557032);
  CHECK(count_parameters(*model("resnet34", NormKind::BatchNorm, 1000)) == 21797672);
  CHECK(count_parameters(*model("resnet20", NormKind::BatchNorm)) == 272474);  // "0.27M"
  CHECK(count_parameters(*model("resnet110", NormKind::BatchNorm)) == 1730714);  // "1.7M"
  // GroupNorm has the same γ and β as BatchNorm; without a norm they are gone.
  CHECK(count_parameters(*model("resnet20", NormKind::GroupNorm)) == 272474);
  CHECK(count_parameters(*model("resnet20", NormKind::None)) < 272474);
}

TEST_CASE("resnet20 and preresnet29, BN and GN, match PyTorch: logits, loss and every gradient") {
  for (const char* arch : {"resnet20", "preresnet29"}) {
    for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
      const std::string name = std::string(arch) + "_" + to_string(norm);
      CAPTURE(name);
      const SafetensorsFile f = load_safetensors(std::string(MINIDL_SOURCE_DIR) + "/tests/fixtures/models/" + name + ".safetensors");
      std::map<std::string, Tensor> ref(f.tensors.begin(), f.tensors.end());
      auto m = model(arch, norm, 10, 8);
      set_fixture_weights(*m);
      m->train();
      const Tensor logits = (*m)(ref.at("input"));
      const Tensor loss = cross_entropy(logits, ref.at("labels"));
      test::check_matches(logits, ref.at("logits"), "logits");
      test::check_matches(loss, ref.at("loss"), "loss");
      loss.backward();
      int compared = 0;
      for (auto& [pname, p] : m->named_parameters()) {
        test::check_matches(p.grad(), ref.at("grad." + pname), "gradient of " + pname);
        ++compared;
      }
      CHECK(compared == static_cast<int>(f.tensors.size()) - 4);
    }
  }
}

TEST_CASE("model options: torchvision shapes, groups, zero_init_residual, errors") {
  auto r18 = model("resnet18", NormKind::GroupNorm);
  CHECK(to_string((*r18)(randn({1, 3, 64, 64})).shape()) == "[1, 10]");
  ModelOptions o;
  o.arch = "resnet20";
  o.in_channels = 1;
  o.norm = NormKind::GroupNorm;
  o.zero_init_residual = true;
  auto r20 = build_model(o);
  CHECK(to_string((*r20)(randn({2, 1, 28, 28})).shape()) == "[2, 10]");
  for (auto& [name, p] : r20->named_parameters())
    if (name.find("bn2.weight") != std::string::npos) CHECK(p.to_vector<float>() == std::vector<float>(p.numel(), 0.0f));
  o.groups = 32;
  CHECK_ERROR(build_model(o), "bn1: GroupNorm cannot split 16 channels into 32 groups (choose groups dividing");
  o.arch = "resnet21";
  CHECK_ERROR(build_model(o), "model: unknown architecture \"resnet21\" (known: resnet20");
  CHECK_ERROR(parse_norm("ln"), "norm: expected \"bn\", \"gn\" or \"none\", found \"ln\"");
  // A checkpoint of another architecture names the keys that do not fit.
  auto r32 = model("resnet32", NormKind::BatchNorm);
  CHECK_ERROR(model("resnet20", NormKind::BatchNorm)->load_state_dict(r32->state_dict()), "unexpected keys: layer1.3.bn1.bias layer1.3.bn1.num_batches_tracked");
}

TEST_CASE("swap_bn_to_gn keeps names and shapes; copy copies γ and β") {
  auto m = model("resnet20", NormKind::BatchNorm);
  const NamedTensors before = m->named_parameters();
  for (auto& [name, p] : m->named_parameters())
    if (name == "layer2.0.bn1.weight") kernels::copy_(p, full({32}, 0.5));
  CHECK(swap_bn_to_gn(*m, 8, SwapMode::Copy) == 21);
  const NamedTensors after = m->named_parameters();
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i].first == before[i].first);
    CHECK(to_string(after[i].second.shape()) == to_string(before[i].second.shape()));
  }
  CHECK(m->named_buffers().empty());  // running statistics are dropped
  for (auto& [name, mod] : m->named_modules()) CHECK(mod->type_name() != "BatchNorm2d");
  for (auto& [name, p] : after)
    if (name == "layer2.0.bn1.weight") test::check_values(p, {32}, std::vector<double>(32, 0.5));
  CHECK_ERROR(swap_bn_to_gn(*model("resnet20", NormKind::BatchNorm), 5, SwapMode::Copy),
              "swap_bn_to_gn: bn1: GroupNorm cannot split 16 channels into 5 groups");
}

TEST_CASE("swap_bn_to_gn calibrate: each GN's per-channel output statistics equal its BN's on the same input") {
  manual_seed(3);
  auto bn_model = model("resnet20", NormKind::BatchNorm);
  // Give the BN layers non-trivial running statistics and affine parameters.
  bn_model->train();
  for (int i = 0; i < 5; ++i) (*bn_model)(randn({16, 3, 16, 16}) * 2.0 + 0.5);
  for (auto& [name, p] : bn_model->named_parameters())
    if (p.dim() == 1 && name.find("bn") != std::string::npos) kernels::copy_(p, rand(p.shape()) + 0.5);
  bn_model->eval();
  auto original = model("resnet20", NormKind::BatchNorm);  // the BN layers, kept for comparison
  original->load_state_dict(bn_model->state_dict());
  original->eval();
  std::map<std::string, Module*> original_bn;
  for (auto& [name, mod] : original->named_modules()) original_bn[name] = mod;

  const Tensor batch = randn({16, 3, 16, 16}) * 2.0 + 0.5;
  CHECK(swap_bn_to_gn(*bn_model, 8, SwapMode::Calibrate, {batch}) == 21);

  // Run the swapped model; at each GN, feed the GN's input to the original BN and compare.
  double worst = 0;
  int checked = 0;
  std::vector<std::pair<Module*, int>> hooks;
  for (auto& [name, mod] : bn_model->named_modules()) {
    if (mod->type_name() != "GroupNorm") continue;
    hooks.emplace_back(mod, mod->register_forward_hook([&, name = name](Module&, const Tensor& x, const Tensor& y) {
      const Tensor expected = (*original_bn.at(name))(x);
      const std::vector<double> m_gn = mean(y, {0, 2, 3}).to_vector<double>(), m_bn = mean(expected, {0, 2, 3}).to_vector<double>();
      const std::vector<double> s_gn = sqrt(mean(pow(y - mean(y, {0, 2, 3}, true), 2.0), {0, 2, 3})).to_vector<double>();
      const std::vector<double> s_bn = sqrt(mean(pow(expected - mean(expected, {0, 2, 3}, true), 2.0), {0, 2, 3})).to_vector<double>();
      for (size_t c = 0; c < m_gn.size(); ++c) {
        const double scale = std::max(s_bn[c], 1e-3);
        worst = std::max({worst, std::abs(m_gn[c] - m_bn[c]) / scale, std::abs(s_gn[c] - s_bn[c]) / scale});
      }
      ++checked;
    }));
  }
  {
    NoGradGuard no_grad;
    (*bn_model)(batch);
  }
  for (auto& [mod, id] : hooks) mod->remove_forward_hook(id);
  CHECK(checked == 21);
  CHECK(worst < 1e-3);
  CHECK_ERROR(swap_bn_to_gn(*model("resnet20", NormKind::BatchNorm), 8, SwapMode::Calibrate), "calibrate needs at least one calibration batch");
}

TEST_CASE("resnet18 and resnet50 have torchvision's state_dict keys and shapes, and its logits") {
  const SafetensorsFile f = load_safetensors(std::string(MINIDL_SOURCE_DIR) + "/tests/fixtures/models/torchvision.safetensors");
  std::map<std::string, Tensor> ref(f.tensors.begin(), f.tensors.end());
  for (const char* arch : {"resnet18", "resnet50"}) {
    CAPTURE(arch);
    auto m = model(arch, NormKind::BatchNorm, 1000);
    // The keys torchvision's state_dict has, in its order, as [["conv1.weight", [64, 3, 7, 7]], ...].
    const std::string keys = f.metadata.at(std::string(arch) + ".keys");
    std::string mine = "[";
    for (const auto& [name, t] : m->state_dict()) {
      std::string shape = to_string(t.shape());
      shape.erase(std::remove(shape.begin(), shape.end(), ' '), shape.end());
      mine += (mine.size() > 1 ? ", [\"" : "[\"") + name + "\", " + shape + "]";
    }
    mine += "]";
    std::string theirs = keys;
    theirs.erase(std::remove(theirs.begin(), theirs.end(), ' '), theirs.end());
    mine.erase(std::remove(mine.begin(), mine.end(), ' '), mine.end());
    CHECK(mine == theirs);
    set_fixture_weights(*m);
    m->eval();
    NoGradGuard no_grad;
    test::check_matches((*m)(ref.at("input")), ref.at(std::string(arch) + ".logits"), "logits");
  }
}

TEST_CASE("a NaN pixel makes the logits NaN, as in PyTorch (relu and max no longer hide it)") {
  for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
    CAPTURE(static_cast<int>(norm));
    ModelOptions o;
    o.norm = norm;
    o.in_channels = 1;
    manual_seed(1);
    std::shared_ptr<Module> model = build_model(o);
    model->eval();
    std::vector<float> pixels(2 * 28 * 28, 0.5f);
    pixels[100] = NAN;  // one pixel of the first image
    NoGradGuard no_grad;
    const std::vector<float> logits = (*model)(from_vector(pixels, {2, 1, 28, 28})).to_vector<float>();
    CHECK(std::isnan(logits[0]));
    CHECK(std::isfinite(logits[10]));  // the second image is untouched in eval mode
  }
}

TEST_CASE("reset_classifier gives a ResNet a fresh head for other classes and keeps every other weight") {
  ModelOptions o;
  o.in_channels = 1;
  o.num_classes = 5;
  manual_seed(4);
  auto model = build_model(o);
  const NamedTensors before = model->state_dict();
  const std::vector<double> conv = before[0].second.to_vector<double>();
  reset_classifier(*model, 3);
  const NamedTensors after = model->state_dict();
  REQUIRE(after.size() == before.size());
  CHECK(after[0].second.to_vector<double>() == conv);
  CHECK(after.back().first == "fc.bias");
  CHECK(to_string(after.back().second.shape()) == "[3]");
  CHECK(to_string((*model)(randn({2, 1, 8, 8})).shape()) == "[2, 3]");
  CHECK_ERROR(reset_classifier(*model, 0), "reset_classifier: expected num_classes > 0, found 0");
}
