// ResNets: parameter counts, PyTorch fixtures (logits, loss, every gradient), options, and the
// BN → GN swap.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

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

// A resnet20 with BN whose running statistics and affine parameters are far from their defaults,
// in eval mode, and a twin of it that keeps its BN layers (name → module) for comparison.
struct TrainedBN {
  std::shared_ptr<Module> model, original;
  std::map<std::string, Module*> original_modules;
};
TrainedBN trained_bn(DType dtype) {
  manual_seed(3);
  TrainedBN t{model("resnet20", NormKind::BatchNorm), model("resnet20", NormKind::BatchNorm), {}};
  t.model->train();
  for (int i = 0; i < 5; ++i) (*t.model)(randn({16, 3, 16, 16}) * 2.0 + 0.5);
  for (auto& [name, p] : t.model->named_parameters())
    if (p.dim() == 1 && name.find("bn") != std::string::npos) kernels::copy_(p, rand(p.shape()) + 0.5);
  t.model->eval();
  t.original->load_state_dict(t.model->state_dict());
  t.original->eval();
  t.model->to(dtype);
  t.original->to(dtype);
  for (auto& [name, mod] : t.original->named_modules()) t.original_modules[name] = mod;
  return t;
}

// Calls fn(name, input, output) for each GroupNorm of `m` in one forward of x; returns the count.
template <typename F>
int each_group_norm(Module& m, const Tensor& x, F fn) {
  int called = 0;
  std::vector<std::pair<Module*, int>> hooks;
  for (auto& [name, mod] : m.named_modules())
    if (mod->type_name() == "GroupNorm")
      hooks.emplace_back(mod, mod->register_forward_hook([&, name = name](Module&, const Tensor& in, const Tensor& out) {
        fn(name, in, out);
        ++called;
      }));
  {
    NoGradGuard no_grad;
    m(x);
  }
  for (auto& [mod, id] : hooks) mod->remove_forward_hook(id);
  return called;
}

TEST_CASE("swap_bn_to_gn moments: each GN's per-channel output statistics equal its BN's on the same input") {
  TrainedBN t = trained_bn(kFloat32);
  const Tensor batch = randn({16, 3, 16, 16}) * 2.0 + 0.5;
  CHECK(swap_bn_to_gn(*t.model, 8, SwapMode::Moments, {batch}) == 21);

  // Run the swapped model; at each GN, feed the GN's input to the original BN and compare.
  double worst = 0;
  const int checked = each_group_norm(*t.model, batch, [&](const std::string& name, const Tensor& x, const Tensor& y) {
    const Tensor expected = (*t.original_modules.at(name))(x);
    const std::vector<double> m_gn = mean(y, {0, 2, 3}).to_vector<double>(), m_bn = mean(expected, {0, 2, 3}).to_vector<double>();
    const std::vector<double> s_gn = sqrt(mean(pow(y - mean(y, {0, 2, 3}, true), 2.0), {0, 2, 3})).to_vector<double>();
    const std::vector<double> s_bn = sqrt(mean(pow(expected - mean(expected, {0, 2, 3}, true), 2.0), {0, 2, 3})).to_vector<double>();
    for (size_t c = 0; c < m_gn.size(); ++c) {
      const double scale = std::max(s_bn[c], 1e-3);
      worst = std::max({worst, std::abs(m_gn[c] - m_bn[c]) / scale, std::abs(s_gn[c] - s_bn[c]) / scale});
    }
  });
  CHECK(checked == 21);
  CHECK(worst < 1e-3);
  CHECK_ERROR(swap_bn_to_gn(*model("resnet20", NormKind::BatchNorm), 8, SwapMode::Moments), "moments needs at least one calibration batch");
  CHECK_ERROR(parse_swap_mode("calibrate"), "expected mode \"copy\", \"moments\", \"lstsq\" or \"distill\", found \"calibrate\"");
  CHECK(parse_swap_mode(to_string(SwapMode::Distill)) == SwapMode::Distill);
}

TEST_CASE("swap_bn_to_gn lstsq: each GN's γ, β are the least-squares fit of the original model's output there") {
  // Float64, two batches (their sums merged): at the optimum of Σ(γ·z + β − y)² per channel the
  // residual r = GN's output − the original model's output at that layer satisfies Σr = 0 and
  // Σr·z = 0, z being GN's normalized input.
  TrainedBN t = trained_bn(kFloat64);
  const std::vector<Tensor> batches = {randn({8, 3, 16, 16}, kFloat64) * 2.0 + 0.5,
                                       randn({5, 3, 16, 16}, kFloat64) * 1.5 - 0.5};
  CHECK(swap_bn_to_gn(*t.model, 8, SwapMode::LeastSquares, batches) == 21);
  std::map<std::string, std::vector<double>> sum_r, sum_rz, sum_yy, sum_zz;
  for (const Tensor& batch : batches) {
    std::map<std::string, Tensor> teacher;  // the original model's BN outputs on this batch
    std::vector<std::pair<Module*, int>> hooks;
    for (auto& [name, mod] : t.original_modules)
      if (mod->type_name() == "BatchNorm2d")
        hooks.emplace_back(mod, mod->register_forward_hook([&, name = name](Module&, const Tensor&, const Tensor& y) {
          teacher[name] = y;
        }));
    {
      NoGradGuard no_grad;
      (*t.original)(batch);
    }
    for (auto& [mod, id] : hooks) mod->remove_forward_hook(id);
    const int called = each_group_norm(*t.model, batch, [&](const std::string& name, const Tensor& x, const Tensor& y) {
      const Tensor z = group_norm(x, 8, Tensor(), Tensor(), 1e-5), r = y - teacher.at(name),
                   y0 = teacher.at(name) - mean(teacher.at(name), {0, 2, 3}, true);
      auto add = [&](std::vector<double>& into, const Tensor& v) {
        const std::vector<double> s = sum(v, {0, 2, 3}).to_vector<double>();
        into.resize(s.size());
        for (size_t c = 0; c < s.size(); ++c) into[c] += s[c];
      };
      add(sum_r[name], r);
      add(sum_rz[name], r * z);
      add(sum_yy[name], y0 * y0);
      add(sum_zz[name], z * z);
    });
    CHECK(called == 21);
  }
  double worst = 0;
  for (auto& [name, r] : sum_r)
    for (size_t c = 0; c < r.size(); ++c) {
      const double y_scale = std::sqrt(sum_yy[name][c]) + 1e-30, z_scale = std::sqrt(sum_zz[name][c]);
      worst = std::max({worst, std::abs(r[c]) / y_scale, std::abs(sum_rz[name][c]) / (y_scale * z_scale)});
    }
  CHECK(sum_r.size() == 21);
  CHECK(worst < 1e-10);
}

TEST_CASE("swap_bn_to_gn distill: fits γ, β only, nearer the original outputs than lstsq; a failed fit leaves the model as it was") {
  const std::vector<Tensor> batches = {randn({8, 3, 16, 16}) * 2.0 + 0.5, randn({8, 3, 16, 16}) * 2.0 + 0.5};
  auto output_error = [&](Module& swapped, Module& original) {
    NoGradGuard no_grad;
    double e = 0;
    for (const Tensor& b : batches) e += mean(pow(swapped(b) - original(b), 2.0)).item<double>();
    return e;
  };
  TrainedBN lstsq = trained_bn(kFloat32), distill = trained_bn(kFloat32);
  swap_bn_to_gn(*lstsq.model, 8, SwapMode::LeastSquares, batches);
  swap_bn_to_gn(*distill.model, 8, SwapMode::Distill, batches, SwapFit{30, 0.01});
  const double e_lstsq = output_error(*lstsq.model, *lstsq.original), e_distill = output_error(*distill.model, *distill.original);
  CAPTURE(e_lstsq);
  CAPTURE(e_distill);
  CHECK(e_distill < 0.5 * e_lstsq);
  // Only the norms' γ, β moved; every parameter still requires grad; nothing left in .grad().
  std::set<std::string> norm_parameters;
  for (auto& [name, mod] : distill.model->named_modules())
    if (mod->type_name() == "GroupNorm") norm_parameters.insert({name + ".weight", name + ".bias"});
  CHECK(norm_parameters.size() == 42);
  const NamedTensors before = distill.original->named_parameters(), after = distill.model->named_parameters();
  REQUIRE(before.size() == after.size());
  for (size_t i = 0; i < after.size(); ++i) {
    CAPTURE(after[i].first);
    CHECK(after[i].second.requires_grad());
    const double moved = max(pow(after[i].second - before[i].second, 2.0)).item<double>();
    CHECK((moved > 0) == (norm_parameters.count(after[i].first) == 1));
  }

  // A fit that diverges throws, and the model is the BN model it was, in the mode it was.
  TrainedBN failing = trained_bn(kFloat32);
  failing.model->train();
  CHECK_ERROR(swap_bn_to_gn(*failing.model, 8, SwapMode::Distill, batches, SwapFit{20, 1e30}), ": the loss is not finite");
  CHECK(failing.model->is_training());
  for (auto& [name, mod] : failing.model->named_modules()) CHECK(mod->type_name() != "GroupNorm");
  failing.model->eval();
  CHECK(output_error(*failing.model, *failing.original) == 0);
  for (auto& [name, p] : failing.model->named_parameters()) CHECK(p.requires_grad());
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
