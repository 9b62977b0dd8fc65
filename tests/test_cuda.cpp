// The CUDA backend: device tensors, copies both ways, the caching allocator and the errors for
// devices that are not there. Tests that need a GPU start with REQUIRE_CUDA_DEVICE() and are
// reported as skipped by ctest on machines without one (the dev and CI machines).
#include <minidl/autograd/functional.h>
#include <minidl/core/kernels.h>

#include <functional>

#include "helpers.h"

using namespace minidl;

TEST_CASE("asking for a CUDA device that is not there raises an error naming it") {
  const int count = cuda::device_count();
  const Device missing = Device::cuda(count);
  CHECK_ERROR(zeros({2}, kFloat32, missing), "Storage: cannot allocate on " + to_string(missing));
  CHECK_ERROR(randn({3}).to(missing), "cannot allocate on " + to_string(missing));
  CHECK_ERROR(full({2}, 1.0, kFloat32, missing), "cannot allocate on " + to_string(missing));
  GroupNorm layer(2, 4);
  CHECK_ERROR(layer.to(missing), "cannot allocate on " + to_string(missing));
  if (!cuda::is_built()) {
    CHECK_ERROR(cuda::memory_stats(0), "cuda::memory_stats: this build of minidl has no CUDA backend");
    CHECK_ERROR(cuda::synchronize(), "cuda::synchronize: this build of minidl has no CUDA backend");
  } else {
    CHECK_ERROR(cuda::memory_stats(count), "cuda::memory_stats: no device " + to_string(missing));
  }
}

TEST_CASE("tensors go to the GPU and back unchanged, and so do their gradients") {
  REQUIRE_CUDA_DEVICE();
  Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  Tensor on_gpu = x.to(Device::cuda(0));
  CHECK(on_gpu.device() == Device::cuda(0));
  CHECK(on_gpu.shape() == x.shape());
  CHECK(on_gpu.to_vector<double>() == x.to_vector<double>());  // to_vector copies to the host
  Tensor back = on_gpu.to(Device::cpu());
  CHECK(back.device() == Device::cpu());
  back.backward(full({3, 4}, 2.0, kFloat64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>(12, 2.0));
  std::ostringstream printed;
  printed << on_gpu.detach();
  CHECK(printed.str().find("device='cuda:0'") != std::string::npos);
}

TEST_CASE("the CUDA caching allocator reuses freed blocks and reports its bytes") {
  REQUIRE_CUDA_DEVICE();
  cuda::synchronize();
  cuda::empty_cache();
  const cuda::MemoryStats before = cuda::memory_stats(0);
  size_t reserved_after_first = 0;
  for (int step = 0; step < 3; ++step) {
    Tensor t = zeros({1 << 20}, kFloat32).to(Device::cuda(0));  // 4 MiB
    const cuda::MemoryStats during = cuda::memory_stats(0);
    CHECK(during.allocated >= before.allocated + (4u << 20));
    CHECK(during.peak_allocated >= during.allocated);
    if (step == 0) reserved_after_first = during.reserved;
    CHECK(during.reserved == reserved_after_first);  // later steps reuse the cached block
  }
  CHECK(cuda::memory_stats(0).allocated == before.allocated);
  cuda::empty_cache();
  CHECK(cuda::memory_stats(0).reserved == cuda::memory_stats(0).allocated);
}

namespace {

// Largest |a − b| over max(1, max |b|): b is the float64 CPU reference.
double scaled_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  REQUIRE(x.size() == y.size());
  double worst = 0, scale = 1;
  for (double v : y) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst / scale;
}

// GroupNorm forward and backward on cuda:0 in float32 against the CPU in float64.
void check_group_norm_on_gpu(const Shape& shape, int64_t groups, double tolerance) {
  CAPTURE(to_string(shape));
  CAPTURE(groups);
  Generator gen(static_cast<uint64_t>(shape[1] * 31 + groups));
  const Tensor x = randn(shape, kFloat64, gen) * 3.0 + 1.5, w = randn({shape[1]}, kFloat64, gen),
               b = randn({shape[1]}, kFloat64, gen), g = randn(shape, kFloat64, gen);
  Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor yc = group_norm(xc, groups, wc, bc);
  yc.backward(g);
  const Device gpu = Device::cuda(0);
  Tensor xg = x.to(kFloat32).to(gpu).requires_grad_(), wg = w.to(kFloat32).to(gpu).requires_grad_(),
         bg = b.to(kFloat32).to(gpu).requires_grad_();
  Tensor yg = group_norm(xg, groups, wg, bg);
  yg.backward(g.to(kFloat32).to(gpu));
  CHECK(yg.device() == gpu);
  CHECK(scaled_error(yg, yc) < tolerance);
  CHECK(scaled_error(xg.grad(), xc.grad()) < tolerance);
  CHECK(scaled_error(wg.grad(), wc.grad()) < tolerance);
  CHECK(scaled_error(bg.grad(), bc.grad()) < tolerance);
}

}  // namespace

TEST_CASE("GroupNorm on CUDA equals the CPU in float64, forward and backward, small and large groups") {
  REQUIRE_CUDA_DEVICE();
  for (int64_t groups : {1, 2, 4, 12}) check_group_norm_on_gpu({3, 12, 5, 7}, groups, 1e-5);
  check_group_norm_on_gpu({2, 64, 128, 128}, 2, 1e-4);  // 524,288 values per group
}

TEST_CASE("a GroupNorm module moved to the GPU computes what it computes on the CPU") {
  REQUIRE_CUDA_DEVICE();
  GroupNorm layer(4, 8);
  const Tensor x = randn({2, 8, 6, 6});
  const Tensor on_cpu = layer(x);
  layer.to(Device::cuda(0));
  for (const Tensor& p : layer.parameters()) CHECK(p.device() == Device::cuda(0));
  const Tensor on_gpu = layer(x.to(Device::cuda(0)));
  CHECK(on_gpu.device() == Device::cuda(0));
  CHECK(scaled_error(on_gpu, on_cpu.to(kFloat64)) < 1e-5);
}

TEST_CASE("elementwise ops on CUDA equal the CPU: broadcasting binary ops, unary ops, pow, casts") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  Generator gen(5);
  const Tensor a = randn({4, 3, 5, 6}, kFloat32, gen), b = randn({1, 3, 1, 1}, kFloat32, gen) + 3.0;
  for (auto op : {kernels::BinaryOp::Add, kernels::BinaryOp::Sub, kernels::BinaryOp::Mul, kernels::BinaryOp::Div,
                  kernels::BinaryOp::Eq, kernels::BinaryOp::ReluGrad}) {
    CAPTURE(static_cast<int>(op));
    CHECK(scaled_error(kernels::binary(op, a.to(gpu), b.to(gpu)), kernels::binary(op, a, b).to(kFloat64)) < 1e-6);
    CHECK(scaled_error(kernels::binary(op, b.to(gpu), a.to(gpu)), kernels::binary(op, b, a).to(kFloat64)) < 1e-6);
  }
  const Tensor positive = kernels::unary(kernels::UnaryOp::Exp, a);
  for (auto op : {kernels::UnaryOp::Neg, kernels::UnaryOp::Relu, kernels::UnaryOp::Exp, kernels::UnaryOp::Log,
                  kernels::UnaryOp::Sqrt}) {
    CAPTURE(static_cast<int>(op));
    CHECK(scaled_error(kernels::unary(op, positive.to(gpu)), kernels::unary(op, positive).to(kFloat64)) < 1e-5);
  }
  CHECK(scaled_error(kernels::pow(positive.to(gpu), 1.5), kernels::pow(positive, 1.5).to(kFloat64)) < 1e-5);
  CHECK(scaled_error(a.to(gpu).to(kFloat64), a.to(kFloat64)) == 0);
  CHECK(scaled_error(kernels::broadcast_to(b.to(gpu), a.shape()), kernels::broadcast_to(b, a.shape()).to(kFloat64)) == 0);
  // relu and its backward through autograd, on the GPU
  Tensor x = a.to(gpu).requires_grad_();
  relu(x * 2.0).backward(ones({4, 3, 5, 6}, kFloat32, gpu));
  Tensor xc = a.clone().requires_grad_();
  relu(xc * 2.0).backward(ones({4, 3, 5, 6}));
  CHECK(scaled_error(x.grad(), xc.grad().to(kFloat64)) == 0);
}

TEST_CASE("reductions, matmul and transpose on CUDA equal the CPU, and a Linear layer trains the same") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  Generator gen(9);
  const Tensor x = randn({3, 4, 5, 6}, kFloat32, gen);
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{}, {0}, {1, 3}, {0, 2, 3}, {3}}) {
    CHECK(scaled_error(kernels::sum(x.to(gpu), dims, true), kernels::sum(x, dims, true).to(kFloat64)) < 1e-5);
    CHECK(scaled_error(kernels::max(x.to(gpu), dims, false), kernels::max(x, dims, false).to(kFloat64)) == 0);
  }
  const Tensor a = randn({7, 33}, kFloat32, gen), b = randn({33, 5}, kFloat32, gen);
  CHECK(scaled_error(kernels::matmul(a.to(gpu), b.to(gpu), false, false), kernels::matmul(a, b, false, false).to(kFloat64)) < 1e-5);
  CHECK(scaled_error(kernels::matmul(b.to(gpu), a.to(gpu), true, true), kernels::matmul(b, a, true, true).to(kFloat64)) < 1e-5);
  CHECK(scaled_error(kernels::transpose(a.to(gpu)), kernels::transpose(a).to(kFloat64)) == 0);

  Linear cpu_layer(33, 5), gpu_layer(33, 5);
  gpu_layer.load_state_dict(cpu_layer.state_dict());
  gpu_layer.to(gpu);
  Tensor yc = cpu_layer(a), yg = gpu_layer(a.to(gpu));
  CHECK(scaled_error(yg, yc.to(kFloat64)) < 1e-5);
  sum(yc * yc).backward();
  sum(yg * yg).backward();
  for (const std::string name : {"weight", "bias"}) {
    CAPTURE(name);
    Tensor gc, gg;
    for (auto& [n, p] : cpu_layer.named_parameters()) if (n == name) gc = p.grad();
    for (auto& [n, p] : gpu_layer.named_parameters()) if (n == name) gg = p.grad();
    CHECK(scaled_error(gg, gc.to(kFloat64)) < 1e-4);
  }
}

TEST_CASE("SGD and AdamW steps on CUDA equal the CPU") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  for (bool adam : {false, true}) {
    CAPTURE(adam);
    Linear cpu_layer(6, 4), gpu_layer(6, 4);
    gpu_layer.load_state_dict(cpu_layer.state_dict());
    gpu_layer.to(gpu);
    std::unique_ptr<Optimizer> oc, og;
    if (adam) {
      AdamOptions o;
      o.lr = 0.01;
      o.weight_decay = 0.1;
      oc = std::make_unique<AdamW>(cpu_layer.parameters(), o);
      og = std::make_unique<AdamW>(gpu_layer.parameters(), o);
    } else {
      SGDOptions o;
      o.lr = 0.1;
      o.momentum = 0.9;
      o.weight_decay = 5e-4;
      o.nesterov = true;
      oc = std::make_unique<SGD>(cpu_layer.parameters(), o);
      og = std::make_unique<SGD>(gpu_layer.parameters(), o);
    }
    const Tensor x = randn({5, 6});
    for (int step = 0; step < 3; ++step) {
      oc->zero_grad();
      og->zero_grad();
      sum(cpu_layer(x) * cpu_layer(x)).backward();
      sum(gpu_layer(x.to(gpu)) * gpu_layer(x.to(gpu))).backward();
      oc->step();
      og->step();
    }
    for (size_t i = 0; i < cpu_layer.parameters().size(); ++i)
      CHECK(scaled_error(gpu_layer.parameters()[i], cpu_layer.parameters()[i].to(kFloat64)) < 1e-5);
  }
}

TEST_CASE("BatchNorm, pooling and cross-entropy on CUDA equal the CPU, forward and backward") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  Generator gen(11);
  const Tensor x = randn({4, 6, 9, 7}, kFloat64, gen) * 2.0 + 0.5, g = randn({4, 6, 9, 7}, kFloat64, gen);
  for (bool training : {true, false}) {
    CAPTURE(training);
    BatchNorm2d cpu_bn(6), gpu_bn(6);
    cpu_bn.to(kFloat64);
    gpu_bn.to(gpu);
    cpu_bn.train(training);
    gpu_bn.train(training);
    Tensor xc = x.clone().requires_grad_(), xg = x.to(kFloat32).to(gpu).requires_grad_();
    Tensor yc = cpu_bn(xc), yg = gpu_bn(xg);
    yc.backward(g);
    yg.backward(g.to(kFloat32).to(gpu));
    CHECK(scaled_error(yg, yc) < 1e-5);
    CHECK(scaled_error(xg.grad(), xc.grad()) < 1e-4);
    const NamedTensors sc = cpu_bn.state_dict(), sg = gpu_bn.state_dict();
    for (size_t i = 0; i < sc.size(); ++i) {
      CAPTURE(sc[i].first);
      if (is_floating(sc[i].second.dtype())) CHECK(scaled_error(sg[i].second, sc[i].second) < 1e-5);
    }
  }
  using Pool = std::function<Tensor(const Tensor&)>;
  for (const Pool& pool : std::vector<Pool>{[](const Tensor& t) { return max_pool2d(t, 3, 2, 1); },
                                            [](const Tensor& t) { return avg_pool2d(t, 3, 2, 1); },
                                            [](const Tensor& t) { return adaptive_avg_pool2d(t, 2, 3); }}) {
    Tensor xc = x.clone().requires_grad_(), xg = x.to(kFloat32).to(gpu).requires_grad_();
    Tensor yc = pool(xc), yg = pool(xg);
    const Tensor up = randn(yc.shape(), kFloat64, gen);
    yc.backward(up);
    yg.backward(up.to(kFloat32).to(gpu));
    CHECK(scaled_error(yg, yc) < 1e-5);
    CHECK(scaled_error(xg.grad(), xc.grad()) < 1e-5);
  }
  const Tensor logits = randn({5, 7}, kFloat64, gen), labels = from_vector<int64_t>({0, 6, 3, 3, 1});
  for (double smoothing : {0.0, 0.1}) {
    Tensor lc = logits.clone().requires_grad_(), lg = logits.to(kFloat32).to(gpu).requires_grad_();
    Tensor loss_c = cross_entropy(lc, labels, smoothing), loss_g = cross_entropy(lg, labels.to(gpu), smoothing);
    loss_c.backward();
    loss_g.backward();
    CHECK(scaled_error(loss_g, loss_c) < 1e-5);
    CHECK(scaled_error(lg.grad(), lc.grad()) < 1e-5);
  }
  CHECK_ERROR(cross_entropy(logits.to(gpu), labels), "cross_entropy: the labels are on cpu, the logits on cuda:0");
}

TEST_CASE("conv2d on CUDA (cuDNN) equals the CPU in float64, forward and backward") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  Generator gen(13);
  struct Case {
    Shape x, w;
    int64_t stride, padding;
    bool bias;
  };
  for (const Case& c : {Case{{2, 3, 9, 7}, {5, 3, 3, 3}, 1, 1, true}, Case{{3, 8, 10, 10}, {16, 8, 3, 3}, 2, 1, false},
                        Case{{2, 4, 6, 6}, {6, 4, 1, 1}, 1, 0, true}, Case{{1, 3, 16, 16}, {8, 3, 7, 7}, 2, 3, false}}) {
    CAPTURE(to_string(c.x));
    CAPTURE(to_string(c.w));
    const Tensor x = randn(c.x, kFloat64, gen), w = randn(c.w, kFloat64, gen) * 0.3, b = randn({c.w[0]}, kFloat64, gen);
    Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
    Tensor xg = x.to(kFloat32).to(gpu).requires_grad_(), wg = w.to(kFloat32).to(gpu).requires_grad_(),
           bg = b.to(kFloat32).to(gpu).requires_grad_();
    Tensor yc = conv2d(xc, wc, c.bias ? bc : Tensor(), c.stride, c.padding);
    Tensor yg = conv2d(xg, wg, c.bias ? bg : Tensor(), c.stride, c.padding);
    const Tensor up = randn(yc.shape(), kFloat64, gen);
    yc.backward(up);
    yg.backward(up.to(kFloat32).to(gpu));
    CHECK(scaled_error(yg, yc) < 1e-5);
    CHECK(scaled_error(xg.grad(), xc.grad()) < 1e-5);
    CHECK(scaled_error(wg.grad(), wc.grad()) < 1e-5);
    if (c.bias) CHECK(scaled_error(bg.grad(), bc.grad()) < 1e-5);
  }
}

TEST_CASE("a resnet20 training step on CUDA equals the CPU's, and steady steps reuse GPU memory") {
  REQUIRE_CUDA_DEVICE();
  const Device gpu = Device::cuda(0);
  for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
    CAPTURE(static_cast<int>(norm));
    ModelOptions options;
    options.norm = norm;
    manual_seed(3);
    std::shared_ptr<Module> cpu_model = build_model(options);
    manual_seed(3);
    std::shared_ptr<Module> gpu_model = build_model(options);
    gpu_model->to(gpu);
    SGDOptions o;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 5e-4;
    SGD cpu_opt(cpu_model->parameters(), o), gpu_opt(gpu_model->parameters(), o);
    Generator gen(17);
    const Tensor images = randn({8, 3, 32, 32}, kFloat32, gen);
    const Tensor labels = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7});
    size_t reserved = 0;
    for (int step = 0; step < 3; ++step) {
      CAPTURE(step);
      cpu_opt.zero_grad();
      gpu_opt.zero_grad();
      Tensor loss_c = cross_entropy((*cpu_model)(images), labels);
      Tensor loss_g = cross_entropy((*gpu_model)(images.to(gpu)), labels.to(gpu));
      loss_c.backward();
      loss_g.backward();
      cpu_opt.step();
      gpu_opt.step();
      CHECK(std::abs(loss_g.item<double>() - loss_c.item<double>()) < 1e-4 * std::max(1.0, std::abs(loss_c.item<double>())));
      if (step == 1) reserved = cuda::memory_stats(0).reserved;
      if (step == 2) CHECK(cuda::memory_stats(0).reserved == reserved);  // the cache serves steady steps
    }
    const NamedTensors pc = cpu_model->state_dict(), pg = gpu_model->state_dict();
    for (size_t i = 0; i < pc.size(); ++i) {
      CAPTURE(pc[i].first);
      if (is_floating(pc[i].second.dtype())) CHECK(scaled_error(pg[i].second, pc[i].second.to(kFloat64)) < 1e-3);
    }
  }
}

TEST_CASE("compare_layers_on_device: every layer's float32 GPU gradients match the CPU's float64 ones") {
  REQUIRE_CUDA_DEVICE();
  for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
    ModelOptions o;
    o.norm = norm;
    o.in_channels = 1;
    manual_seed(5);
    auto model = build_model(o);
    Generator gen(6);
    const std::vector<LayerCheck> rows = compare_layers_on_device(*model, randn({4, 1, 16, 16}, kFloat64, gen),
                                                                  Device::cuda(0), 1e-3);
    CHECK(rows.back().name == "(model)");
    for (const LayerCheck& r : rows) {
      INFO(r.name, " ", r.type, " max rel ", r.max_rel_error, " (", r.worst, ")");
      CHECK(r.ok);
    }
  }
}
