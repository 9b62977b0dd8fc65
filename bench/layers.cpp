// bench/layers: times minidl's layers (conv 3x3, GroupNorm, BatchNorm, and a block's end
// relu(norm(x) + shortcut) fused and op by op), forward and forward+backward, in float32, on
// every CPU path this machine runs (core/cpu_capability.h: avx512, avx2, generic; --paths picks).
// One JSON object per line: first, per path, the CPU and one core's FMA peak on that path (a loop
// of multiply-adds in registers),
//   {"cpu": "AMD EPYC ...", "path": "avx2", "peak_gflops_per_core": 78.1, "threads": 2}
// then the cases, convolutions with their GFLOP/s as a fraction of threads × that peak:
//   {"case": "conv3x3_fwd_32x64x32x32", "ms": 9.1, "impl": "minidl", "path": "avx2", ..., "of_peak": 0.83}
// bench/torch_layers.py prints the same cases for PyTorch; `make bench-layers` runs both.
// --device cuda times the GPU cases instead (conv 3x3 on (128, 64, 32, 32); GroupNorm and
// BatchNorm on (32, 64, 32, 32) and (128, 256, 14, 14)), waiting for the GPU around each run, and
// reports the norms' effective bandwidth: bytes read + written over the time.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <minidl/core/cpu/exported.h>
#include <minidl/minidl.h>

using namespace minidl;

namespace {

struct Case {
  std::string name;
  std::function<void()> run;
  double flops = 0;  // per run, when meaningful (convolutions)
  double bytes = 0;  // read + written per run, when meaningful (the norms)
};

Device bench_device = Device::cpu();  // where the cases run (--device)

void wait_for_device() {
  if (bench_device.is_cuda()) cuda::synchronize(bench_device.index);
}

// Median time of one run, in ms, over at least `min_runs` runs and `min_seconds`.
double time_ms(const std::function<void()>& run, int min_runs, double min_seconds) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 2; ++i) run();  // warm-up: caches, page faults, thread pools, cuDNN's choices
  wait_for_device();
  std::vector<double> ms;
  const auto start = clock::now();
  while (static_cast<int>(ms.size()) < min_runs || std::chrono::duration<double>(clock::now() - start).count() < min_seconds) {
    const auto t0 = clock::now();
    run();
    wait_for_device();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

std::string dims(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

// forward alone (no graph), and forward + backward from a fixed upstream gradient. `bytes`: one
// forward's reads and writes (the forward + backward case counts three times as many).
void add_pair(std::vector<Case>& cases, const std::string& prefix, const Shape& shape,
              const std::function<Tensor(const Tensor&)>& layer, std::vector<Tensor> params, double fwd_flops = 0,
              double fwd_bytes = 0) {
  Tensor x = randn(shape).to(bench_device);
  Tensor xg = x.detach().requires_grad_();
  auto grad = std::make_shared<Tensor>();
  cases.push_back({prefix + "_fwd_" + dims(shape), [=] {
                     NoGradGuard no_grad;
                     layer(x);
                   },
                   fwd_flops, fwd_bytes});
  cases.push_back({prefix + "_fwdbwd_" + dims(shape), [=]() mutable {
                     xg.zero_grad();
                     for (Tensor& p : params) p.zero_grad();
                     Tensor y = layer(xg);
                     if (!grad->defined()) *grad = randn(y.shape()).to(bench_device);
                     y.backward(*grad);
                   },
                   3 * fwd_flops, 3 * fwd_bytes});
}

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Times minidl's conv, GroupNorm and BatchNorm layers (float32); one JSON line per case."};
  int threads = 2;
  std::string filter, device_name = "cpu";
  double min_seconds = 1.0;
  std::vector<std::string> path_names;
  app.add_option("--threads", threads, "OpenMP threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--paths", path_names, "CPU paths to time, e.g. avx2,avx512 (default: every one this CPU runs)")
      ->delimiter(',');
  app.add_option("--filter", filter, "only cases whose name contains this");
  app.add_option("--seconds", min_seconds, "minimum time per case")->capture_default_str();
  app.add_option("--device", device_name, "cpu | cuda[:N]: the CPU cases, or the GPU cases")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  set_adaptive_threads(false);  // single kernels are timed on the count asked for (core/threads.h)
  manual_seed(0);
  try {
    bench_device = Device::parse(device_name);
    MINIDL_CHECK(bench_device.is_cpu() || bench_device.index < cuda::device_count(), "--device ", device_name,
                 ": no such CUDA device (cuda::device_count() = ", cuda::device_count(), ")");
  } catch (const Error& e) {
    std::fprintf(stderr, "layers: %s\n", e.what());
    return 2;
  }
  const bool gpu = bench_device.is_cuda();
  std::vector<CpuCapability> paths = supported_cpu_capabilities();
  if (!path_names.empty() && !gpu) {
    try {
      paths.clear();
      for (const std::string& name : path_names) {
        paths.push_back(parse_cpu_capability(name, "--paths"));
        MINIDL_CHECK(cpu_supports(paths.back()), "--paths: this CPU cannot run the ", name, " path");
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "layers: %s\n", e.what());
      return 2;
    }
  }
  if (gpu) paths = {cpu_capability()};

  std::vector<Case> cases;
  // 3x3 convolutions, stride 1: the shapes of resnet20's three stages (16, 32, 64 channels at
  // 32², 16², 8²) at batch 32, and 64 channels at 32² (the GPU: batch 128).
  const std::vector<Shape> conv_shapes = gpu ? std::vector<Shape>{{128, 64, 32, 32}}
                                             : std::vector<Shape>{{32, 64, 32, 32}, {32, 16, 32, 32}, {32, 32, 16, 16}, {32, 64, 8, 8}};
  for (const Shape& s : conv_shapes) {
    auto conv = std::make_shared<Conv2d>(s[1], s[1], 3, 1, 1, false);
    conv->to(bench_device);
    const double flops = 2.0 * s[0] * s[1] * s[2] * s[3] * s[1] * 9;
    add_pair(cases, "conv3x3", s, [conv](const Tensor& x) { return (*conv)(x); }, conv->parameters(), flops);
  }
  if (!gpu) {  // resnet20's first downsampling convolution: 16 → 32 channels, stride 2, 32² → 16²
    auto conv = std::make_shared<Conv2d>(16, 32, 3, 2, 1, false);
    const double flops = 2.0 * 32 * 32 * 16 * 16 * 16 * 9;
    add_pair(cases, "conv3x3s2", {32, 16, 32, 32}, [conv](const Tensor& x) { return (*conv)(x); }, conv->parameters(),
             flops);
  }
  const std::vector<std::pair<Shape, int64_t>> norm_cases =
      gpu ? std::vector<std::pair<Shape, int64_t>>{{{32, 64, 32, 32}, 32}, {{128, 256, 14, 14}, 32}}
          : std::vector<std::pair<Shape, int64_t>>{{{32, 64, 32, 32}, 32}, {{128, 16, 32, 32}, 8}};
  for (const auto& [shape, groups] : norm_cases) {
    const double bytes = 2.0 * 4 * static_cast<double>(numel(shape));  // x read, y written (float32)
    auto gn = std::make_shared<GroupNorm>(groups, shape[1]);
    gn->to(bench_device);
    add_pair(cases, "gn", shape, [gn](const Tensor& x) { return (*gn)(x); }, gn->parameters(), 0, bytes);
    auto bn = std::make_shared<BatchNorm2d>(shape[1]);
    bn->to(bench_device);
    add_pair(cases, "bn", shape, [bn](const Tensor& x) { return (*bn)(x); }, bn->parameters(), 0, bytes);
  }
  // Where a ResNet block ends, relu(bn(x) + shortcut): one fused op (models/norm.h's norm_relu),
  // and the same op by op (_ops, minidl only: what the fusion saves). x, the residual read, y written.
  {
    const Shape shape{32, 64, 32, 32};
    const double bytes = 3.0 * 4 * static_cast<double>(numel(shape));
    const Tensor residual = randn(shape).to(bench_device);
    auto gn = std::make_shared<GroupNorm>(32, shape[1]);
    auto bn = std::make_shared<BatchNorm2d>(shape[1]);
    gn->to(bench_device);
    bn->to(bench_device);
    add_pair(cases, "gn_add_relu", shape, [gn, residual](const Tensor& x) { return norm_relu(*gn, x, residual); },
             gn->parameters(), 0, bytes);
    add_pair(cases, "gn_add_relu_ops", shape, [gn, residual](const Tensor& x) { return relu((*gn)(x) + residual); },
             gn->parameters(), 0, bytes);
    add_pair(cases, "bn_add_relu", shape, [bn, residual](const Tensor& x) { return norm_relu(*bn, x, residual); },
             bn->parameters(), 0, bytes);
    add_pair(cases, "bn_add_relu_ops", shape, [bn, residual](const Tensor& x) { return relu((*bn)(x) + residual); },
             bn->parameters(), 0, bytes);
  }

  for (CpuCapability path : paths) {
    set_cpu_capability(path);
    const double peak = gpu ? 0 : kernels::cpu_fma_peak_kernel.at(Device::cpu())(0.5);
    std::printf("{\"cpu\": \"%s\", \"path\": \"%s\", \"peak_gflops_per_core\": %.1f, \"threads\": %d}\n",
                cpu_model().c_str(), to_string(path), peak, threads);
    for (const Case& c : cases) {
      if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
      const double ms = time_ms(c.run, 5, min_seconds);
      std::printf("{\"case\": \"%s\", \"ms\": %.3f, \"impl\": \"minidl\", \"path\": \"%s\", \"device\": \"%s\", \"threads\": %d",
                  c.name.c_str(), ms, gpu ? "-" : to_string(path), to_string(bench_device).c_str(), threads);
      if (c.flops > 0) std::printf(", \"gflops\": %.1f", c.flops / ms / 1e6);
      if (c.flops > 0 && peak > 0) std::printf(", \"of_peak\": %.2f", c.flops / ms / 1e6 / (peak * threads));
      if (c.bytes > 0) std::printf(", \"gb_per_s\": %.1f", c.bytes / ms / 1e6);
      std::printf("}\n");
      std::fflush(stdout);
    }
  }
  return 0;
}
