// What only the CUDA backend has: device tensors, copies both ways, the caching allocator, the
// errors for devices that are not there, and whole-model steps against the CPU. Every op's own
// cases run on CUDA from its test file (test_group_norm.cpp, ..., TEST_CASE_ON_DEVICES). Tests
// that need a GPU start with REQUIRE_CUDA_DEVICE() and are reported as skipped by ctest on
// machines without one (the dev and CI machines).
#include <minidl/autograd/functional.h>
#include <minidl/core/kernels.h>

#include <functional>

#include "devices.h"

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
      if (is_floating(pc[i].second.dtype())) CHECK(test::scaled_error(pg[i].second, pc[i].second.to(kFloat64)) < 1e-3);
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
