// bench/train_step: img/s of whole-model training steps and inference, in float32. One JSON
// object per line:
//   {"case": "train_resnet20_gn_b32", "img_s": 450.1, "ms": 71.1, "impl": "minidl", "path": "avx2",
//    "cpu": "AMD EPYC", "threads": 2, "threads_at_end": 2, "peak_rss_mb": 61.2}
// "path" is the CPU kernels' path (core/cpu_capability.h: MINIDL_CPU picks one; --list-paths
// prints those this CPU runs, best first).
// A training step is what examples/train does per batch: forward, mean cross-entropy, backward,
// SGD with momentum 0.9 and weight decay 5e-4. Inference is a forward pass in eval mode without
// a graph. The input is CIFAR-shaped (3×32×32) random data with random labels.
// "threads" is --threads, the most threads; "threads_at_end" the count in use after the case, fewer
// when other processes kept the CPUs busy (core/threads.h; MINIDL_ADAPTIVE_THREADS=0 holds it).
// peak_rss_mb is this process's peak resident memory so far (getrusage): run one case per process
// (--case NAME) to attribute it to that case, as bench/train_compare.py does.
// bench/torch_train.py times the same cases for PyTorch; `make bench` runs both.
#include <omp.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <minidl/minidl.h>

using namespace minidl;

namespace {

struct Case {
  std::string name, arch, norm;
  int64_t batch;
  bool train;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const char* arch : {"resnet20", "preresnet29"})
    for (const char* norm : {"bn", "gn"}) {
      for (int64_t batch : {8, 32, 128})
        cases.push_back({std::string("train_") + arch + "_" + norm + "_b" + std::to_string(batch), arch, norm, batch, true});
      for (int64_t batch : {32, 128})
        cases.push_back({std::string("infer_") + arch + "_" + norm + "_b" + std::to_string(batch), arch, norm, batch, false});
    }
  return cases;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Median seconds of one call of `run`, over at least `min_runs` calls and `min_seconds`.
template <class Run>
double median_seconds(Run&& run, int warmup, int min_runs, double min_seconds) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) run();
  std::vector<double> times;
  const auto start = clock::now();
  while (static_cast<int>(times.size()) < min_runs || std::chrono::duration<double>(clock::now() - start).count() < min_seconds) {
    const auto t0 = clock::now();
    run();
    times.push_back(std::chrono::duration<double>(clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double time_case(const Case& c, int min_runs, double min_seconds) {
  ModelOptions options;
  options.arch = c.arch;
  options.norm = parse_norm(c.norm);
  std::shared_ptr<Module> model = build_model(options);
  const Tensor images = randn({c.batch, 3, 32, 32});
  std::vector<int64_t> label_values(static_cast<size_t>(c.batch));
  for (size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<int64_t>(i % 10);
  const Tensor labels = from_vector(label_values);
  if (!c.train) {
    model->eval();
    return median_seconds([&] {
      NoGradGuard no_grad;
      (*model)(images);
    }, 3, min_runs, min_seconds);
  }
  model->train();
  SGDOptions sgd;
  sgd.lr = 0.01;
  sgd.momentum = 0.9;
  sgd.weight_decay = 5e-4;
  SGD opt(model->parameters(), sgd);
  return median_seconds([&] {
    opt.zero_grad();
    cross_entropy((*model)(images), labels).backward();
    opt.step();
  }, 3, min_runs, min_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Times minidl's whole-model training steps and inference (float32, 3x32x32 input); one JSON line per case."};
  int threads = 2, min_runs = 5;
  std::string filter, only;
  double min_seconds = 2.0;
  bool list = false;
  app.add_option("--threads", threads, "OpenMP threads: at most, fewer while other processes keep the CPUs busy")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--filter", filter, "only cases whose name contains this");
  app.add_option("--case", only, "only this case (see --list)");
  app.add_option("--seconds", min_seconds, "minimum timed seconds per case")->capture_default_str();
  app.add_option("--runs", min_runs, "minimum timed runs per case")->capture_default_str();
  app.add_flag("--list", list, "print the case names and exit");
  bool list_paths = false;
  app.add_flag("--list-paths", list_paths, "print the CPU paths this machine runs (for MINIDL_CPU), best first, and exit");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  manual_seed(0);

  std::vector<Case> cases = all_cases();
  if (list_paths) {
    for (CpuCapability path : supported_cpu_capabilities()) std::printf("%s\n", to_string(path));
    return 0;
  }
  if (list) {
    for (const Case& c : cases) std::printf("%s\n", c.name.c_str());
    return 0;
  }
  if (!only.empty() && std::none_of(cases.begin(), cases.end(), [&](const Case& c) { return c.name == only; })) {
    std::fprintf(stderr, "train_step: no case named '%s' (see --list)\n", only.c_str());
    return 2;
  }
  for (const Case& c : cases) {
    if ((!only.empty() && c.name != only) || (!filter.empty() && c.name.find(filter) == std::string::npos)) continue;
    const double s = time_case(c, min_runs, min_seconds);
    std::printf("{\"case\": \"%s\", \"img_s\": %.1f, \"ms\": %.2f, \"impl\": \"minidl\", \"path\": \"%s\", \"cpu\": \"%s\", "
                "\"threads\": %d, \"threads_at_end\": %d, \"peak_rss_mb\": %.1f}\n",
                c.name.c_str(), static_cast<double>(c.batch) / s, 1e3 * s, to_string(cpu_capability()), cpu_model().c_str(),
                threads, omp_get_max_threads(), peak_rss_mb());
    std::fflush(stdout);
  }
  return 0;
}
