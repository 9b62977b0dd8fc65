// Module: names, registration order, train/eval, state dicts, printing, errors naming the layer.
#include <sstream>

#include "helpers.h"

using namespace minidl;

namespace {

// A small residual block with torchvision's names, to check dotted names end to end.
class Block : public Module {
 public:
  Block() {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(4, 4, 3, 1, 1, false));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(4));
    downsample = register_module("downsample", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                                   std::make_shared<Conv2d>(4, 4, 1, 1, 0, false),
                                                   std::make_shared<BatchNorm2d>(4)}));
  }
  Tensor forward(const Tensor& x) override {
    Tensor out = (*bn1)((*conv1)(x));
    return relu(out + (*downsample)(x));
  }
  std::string type_name() const override { return "Block"; }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Sequential> downsample;
};

class Net : public Module {
 public:
  Net() {
    layer1 = register_module("layer1", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{std::make_shared<Block>()}));
    fc = register_module("fc", std::make_shared<Linear>(4, 3));
  }
  Tensor forward(const Tensor& x) override { return (*fc)(flatten(adaptive_avg_pool2d((*layer1)(x)))); }
  std::string type_name() const override { return "Net"; }
  std::shared_ptr<Sequential> layer1;
  std::shared_ptr<Linear> fc;
};

std::vector<std::string> keys(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, t] : named) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("parameters, buffers and state dicts have PyTorch's dotted names and order") {
  Net net;
  CHECK(keys(net.named_parameters()) ==
        std::vector<std::string>{"layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
                                 "layer1.0.downsample.0.weight", "layer1.0.downsample.1.weight",
                                 "layer1.0.downsample.1.bias", "fc.weight", "fc.bias"});
  CHECK(keys(net.named_buffers()) ==
        std::vector<std::string>{"layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
                                 "layer1.0.bn1.num_batches_tracked", "layer1.0.downsample.1.running_mean",
                                 "layer1.0.downsample.1.running_var", "layer1.0.downsample.1.num_batches_tracked"});
  const std::vector<std::string> state = keys(net.state_dict());
  CHECK(state.size() == 14);
  CHECK(state[1] == "layer1.0.bn1.weight");
  CHECK(state[3] == "layer1.0.bn1.running_mean");
  CHECK(state[5] == "layer1.0.bn1.num_batches_tracked");
  CHECK(net.layer1->name() == "layer1");
  CHECK(net.named_modules().size() == 9);
  CHECK(net.named_modules()[4].first == "layer1.0.bn1");
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  for (const auto& [n, b] : net.named_buffers()) CHECK(!b.requires_grad());
}

TEST_CASE("train and eval reach every module; BatchNorm uses running statistics in eval") {
  Net net;
  net.eval();
  for (auto& [n, m] : net.named_modules()) CHECK(!m->is_training());
  Tensor x = randn({2, 4, 5, 5});
  Tensor a = net(x), b = net(x);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(net.layer1->named_children()[0].second->named_buffers()[2].second.item<int64_t>() == 0);
  net.train();
  net(x);
  CHECK(net.named_buffers()[2].second.item<int64_t>() == 1);  // num_batches_tracked
}

TEST_CASE("load_state_dict copies values and reports every problem at once") {
  Net a, b;
  b.load_state_dict(a.state_dict());
  for (size_t i = 0; i < a.state_dict().size(); ++i)
    CHECK(a.state_dict()[i].second.to_vector<double>() == b.state_dict()[i].second.to_vector<double>());
  // The loaded values are copies: training `a` further does not change `b`.
  a.fc->weight.data<float>()[0] += 1;
  CHECK(a.fc->weight.at<float>({0, 0}) != b.fc->weight.at<float>({0, 0}));

  // float64 values load into the float32 model.
  NamedTensors doubles = a.state_dict();
  for (auto& [n, t] : doubles)
    if (is_floating(t.dtype())) t = t.to(kFloat64);
  b.load_state_dict(doubles);
  CHECK(b.fc->weight.dtype() == kFloat32);

  NamedTensors bad = a.state_dict();
  bad.erase(bad.begin());                                  // missing layer1.0.conv1.weight
  bad.emplace_back("layer2.0.conv1.weight", zeros({1}));   // unexpected
  for (auto& [n, t] : bad)
    if (n == "fc.weight") t = zeros({10, 4});                // shape mismatch
  const std::vector<float> before = b.fc->bias.to_vector<float>();
  CHECK_ERROR(b.load_state_dict(bad),
              "load_state_dict: cannot load into Net:\n  missing keys: layer1.0.conv1.weight\n  unexpected keys: "
              "layer2.0.conv1.weight\n  shape mismatch for fc.weight: checkpoint [10, 4], model [3, 4]");
  CHECK(b.fc->bias.to_vector<float>() == before);  // nothing was copied
  // Non-strict loading ignores missing and unexpected keys, but never a shape mismatch.
  CHECK_ERROR(b.load_state_dict(bad, /*strict=*/false), "shape mismatch for fc.weight");
  NamedTensors partial = {{"fc.bias", ones({3})}, {"extra", zeros({2})}};
  b.load_state_dict(partial, /*strict=*/false);
  test::check_values(b.fc->bias, {3}, {1, 1, 1});
}

TEST_CASE("an error inside a layer names the layer by its dotted name") {
  Net net;
  CHECK_ERROR(net(randn({2, 3, 5, 5})), "Conv2d 'layer1.0.conv1': conv2d: input has 3 channels but the weight expects 4");
  CHECK_ERROR(net(randn({2, 4, 5})), "Conv2d 'layer1.0.conv1': conv2d: expected a 4-D input [N, C, H, W], found shape [2, 4, 5]");
  BatchNorm2d bn(3);
  CHECK_ERROR(bn(randn({1, 3, 1, 1})),
              "BatchNorm2d: batch_norm: expected more than 1 value per channel when training, found input of shape [1, 3, 1, 1]");
  CHECK_ERROR(bn(randn({2, 4, 2, 2})), "BatchNorm2d: expected 3 channels, found 4");
  CHECK_ERROR(GroupNorm(5, 12), "GroupNorm: 12 channels cannot be split into 5 groups");
}

TEST_CASE("replace_module swaps a child in place, keeping its name") {
  Block block;
  block.replace_module("bn1", std::make_shared<GroupNorm>(2, 4));
  const std::vector<std::string> names = keys(block.named_parameters());
  CHECK(names[1] == "bn1.weight");
  CHECK(keys(block.named_buffers()).size() == 3);  // only the downsample BN's buffers remain
  CHECK(block.named_modules()[2].second->type_name() == "GroupNorm");
  CHECK_ERROR(block.replace_module("bn9", std::make_shared<Identity>()), "Block: no child module named 'bn9' to replace");
}

TEST_CASE("forward hooks see every call's input and output until removed") {
  Net net;
  std::vector<std::string> seen;
  const int id = net.layer1->register_forward_hook([&](Module& m, const Tensor& in, const Tensor& out) {
    seen.push_back(m.name() + " " + to_string(in.shape()) + " -> " + to_string(out.shape()));
  });
  net(randn({2, 4, 5, 5}));
  CHECK(seen == std::vector<std::string>{"layer1 [2, 4, 5, 5] -> [2, 4, 5, 5]"});
  net.layer1->remove_forward_hook(id);
  net(randn({2, 4, 5, 5}));
  CHECK(seen.size() == 1);
}

TEST_CASE("modules print as a PyTorch-style tree") {
  Sequential net({std::make_shared<Conv2d>(3, 16, 3, 1, 1, false), std::make_shared<BatchNorm2d>(16),
                  std::make_shared<ReLU>(), std::make_shared<GroupNorm>(8, 16), std::make_shared<MaxPool2d>(2),
                  std::make_shared<AdaptiveAvgPool2d>(), std::make_shared<Flatten>(), std::make_shared<Linear>(16, 10)});
  std::ostringstream os;
  os << net;
  CHECK(os.str() ==
        "Sequential(\n"
        "  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
        "  (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): ReLU()\n"
        "  (3): GroupNorm(8, 16, eps=1e-05, affine=True)\n"
        "  (4): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (5): AdaptiveAvgPool2d(output_size=(1, 1))\n"
        "  (6): Flatten()\n"
        "  (7): Linear(in_features=16, out_features=10, bias=True)\n"
        ")");
}

TEST_CASE("layers initialize as PyTorch does") {
  manual_seed(0);
  Conv2d conv(16, 32, 3);
  const double bound = 1.0 / std::sqrt(16.0 * 9.0);
  double lo = 1, hi = -1;
  for (float v : conv.weight.to_vector<float>()) { lo = std::min<double>(lo, v); hi = std::max<double>(hi, v); }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > 1.9 * bound);  // the range is filled, not a point
  BatchNorm2d bn(4);
  test::check_values(bn.weight, {4}, {1, 1, 1, 1});
  test::check_values(bn.running_var, {4}, {1, 1, 1, 1});
  GroupNorm gn(2, 4);
  test::check_values(gn.bias, {4}, {0, 0, 0, 0});
  Linear fc(100, 2, false);
  CHECK(!fc.bias.defined());
  CHECK(fc.named_parameters().size() == 1);
}

TEST_CASE("Module::to converts parameters and buffers in place") {
  Net net;
  Tensor w = net.fc->weight;
  net.to(kFloat64);
  CHECK(w.dtype() == kFloat64);  // the layer's handle sees the conversion
  CHECK(net.state_dict()[3].second.dtype() == kFloat64);
  CHECK(net.state_dict()[5].second.dtype() == kInt64);  // integer buffers stay
  CHECK(net(randn({2, 4, 3, 3}, kFloat64)).dtype() == kFloat64);
}

TEST_CASE("gradcheck: a Sequential of every layer kind, through its parameters") {
  Generator gen(30);
  Sequential net({std::make_shared<Conv2d>(2, 4, 3, 1, 1), std::make_shared<GroupNorm>(2, 4), std::make_shared<ReLU>(),
                  std::make_shared<MaxPool2d>(2), std::make_shared<AvgPool2d>(1), std::make_shared<AdaptiveAvgPool2d>(),
                  std::make_shared<Flatten>(), std::make_shared<Identity>(), std::make_shared<Linear>(4, 3)});
  test::check_layer_gradcheck(net, randn({2, 2, 6, 6}, kFloat64, gen));
  test::check_gradcheck([](const std::vector<Tensor>& in) { return flatten(in[0]); }, {randn({2, 3, 2, 2}, kFloat64, gen)});
}
