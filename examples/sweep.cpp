// sweep: the batch-size figure of the GroupNorm paper (Wu & He 2018, figure 1) with its protocol,
// at our scale. W workers (simulated in one process: BatchNorm takes its statistics over each
// worker's b images, BatchNorm2d's virtual_batch_size) see b images each, a total batch of W·b;
// the learning rate scales linearly with the total batch (--lr at --lr-batch images, 0.1 at 256
// as in the paper); every run trains the same number of epochs from the same seeds, with γ = 0 in
// each residual block's last norm. GroupNorm needs no statistics across images, so b changes
// nothing for it but the total batch. --protocol total keeps the total batch fixed instead and
// changes only how many images BN's statistics see. Test error per run, and mean and spread per
// point over the seeds, to CSV; scripts/plot_sweep.py draws them.
//   build/bin/sweep --workers 8 --per-worker 32,16,8,4,2 --epochs 5 --seeds 2

#include <cmath>
#include <fstream>

#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

namespace {

std::vector<int64_t> parse_list(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  for (const std::string& item : flags::split(text)) {
    MINIDL_CHECK(!item.empty() && item.size() < 10 && item.find_first_not_of("0123456789") == std::string::npos, flag,
                 ": expected a comma-separated list of sizes, found \"", text, "\"");
    out.push_back(std::stoll(item));
    MINIDL_CHECK(out.back() > 0, flag, ": expected sizes > 0, found ", out.back(), " in \"", text, "\"");
  }
  return out;
}

struct Point {
  std::string norm;
  int64_t per_worker = 0, workers = 0;
  std::vector<double> errors;
};

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Trains the same ResNet with BatchNorm and with GroupNorm at several numbers of images per worker, "
               "with the GroupNorm paper's protocol: W simulated workers (BN statistics per worker), total batch W·b, "
               "learning rate scaled linearly with the total batch, the same epochs and seeds for every run, γ = 0 in "
               "each block's last norm. Writes each run's test error, and mean and spread over the seeds per point, "
               "as CSV. --quick runs a few hundred images (what the tests run)."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/false);
  DataFlags data;
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "first seed (the runs use seed, seed + 1, ...)");
  std::string per_worker_text = "32,16,8,4,2", norms_text = "bn,gn", protocol = "per-worker", csv_path = "sweep.csv",
              summary_path;
  int64_t workers = 8, total_batch = 256, epochs = 5, seeds = 2, limit_train = 0;
  double lr = 0.1, lr_batch = 256, momentum = 0.9, weight_decay = 1e-4;
  bool quick = false;
  app.add_option("--per-worker", per_worker_text, "images per worker b, comma-separated")->capture_default_str();
  flags::add(app, "--norms", norms_text, "the norms to train, comma-separated (one each to run them side by side)",
             flags::list_of({"bn", "gn"}));
  flags::add(app, "--protocol", protocol,
             "per-worker: W workers of b images (total batch W·b, the paper's figure 1); total: a fixed --total-batch, "
             "BN statistics over b of its images (W = total / b)",
             flags::one_of({"per-worker", "total"}));
  flags::add(app, "--workers", workers, "workers W (protocol per-worker)", flags::positive);
  flags::add(app, "--total-batch", total_batch, "total batch (protocol total)", flags::positive);
  flags::add(app, "--epochs", epochs, "epochs of every run", flags::positive);
  flags::add(app, "--seeds", seeds, "runs per point (seeds --seed, --seed + 1, ...)", flags::positive);
  flags::add(app, "--lr", lr, "learning rate at a total batch of --lr-batch images (linear scaling)", flags::positive_finite);
  flags::add(app, "--lr-batch", lr_batch, "the total batch --lr is given for", flags::positive_finite);
  flags::add(app, "--weight-decay", weight_decay, "on conv/linear weights (none on norms and biases)",
             flags::non_negative_finite);
  flags::add(app, "--limit-train", limit_train, "use only the first N training images (0: all)", flags::non_negative);
  flags::add(app, "--csv", csv_path, "one row per run", flags::writable_path);
  app.add_option("--summary", summary_path, "mean and spread per point (default: the --csv name with .summary.csv)")
      ->check(flags::writable_path);
  app.add_flag("--quick", quick, "1 epoch of 256 training images, 200 test images, 1 seed (the tests)");
  MINIDL_PARSE_FLAGS(app, argc, argv, "sweep");
  return run_program("sweep", [&] {
    run.apply();
    if (quick) {
      limit_train = 256;
      data.limit_test = 200;
      epochs = 1;
      seeds = 1;
    }
    if (summary_path.empty()) {
      const std::string ext = ".csv";
      const bool has_ext = csv_path.size() > ext.size() && csv_path.compare(csv_path.size() - ext.size(), ext.size(), ext) == 0;
      summary_path = (has_ext ? csv_path.substr(0, csv_path.size() - ext.size()) : csv_path) + ".summary.csv";
    }
    const std::vector<int64_t> per_worker = parse_list(per_worker_text, "--per-worker");
    const std::vector<std::string> norms = flags::split(norms_text);
    for (int64_t b : per_worker)
      MINIDL_CHECK(protocol == "per-worker" || total_batch % b == 0, "--per-worker ", b, ": does not divide --total-batch ",
                   total_batch);
    data.check();
    ModelFlags gn = flags;
    gn.norm = "gn";
    gn.build();  // a --groups that does not divide the channels fails here, before any loading
    ImageDataset train_data = data.train();
    if (limit_train > 0) train_data = train_data.head(limit_train);
    const ImageDataset test_data = data.test();
    flags.in_channels = train_data.channels;
    flags.num_classes = train_data.num_classes;
    for (int64_t b : per_worker) {
      const int64_t total = protocol == "per-worker" ? workers * b : total_batch;
      MINIDL_CHECK(total <= train_data.size(), "--per-worker ", b, ": a total batch of ", total, " is more than the ",
                   train_data.size(), " training images");
    }

    std::ofstream csv(csv_path);
    MINIDL_CHECK(csv, "cannot write ", csv_path);
    csv << "norm,images_per_worker,workers,total_batch,lr,seed,epochs,steps,test_error,test_loss,seconds\n";
    std::printf("%s protocol, %lld epochs of %lld images, %lld seed(s) per point, lr %g at %g images\n", protocol.c_str(),
                static_cast<long long>(epochs), static_cast<long long>(train_data.size()), static_cast<long long>(seeds), lr,
                lr_batch);
    std::printf("%-5s %10s %8s %6s %9s %5s %12s %9s\n", "norm", "per worker", "workers", "batch", "lr", "seed", "test error",
                "time (s)");
    std::vector<Point> points;
    for (const std::string& norm : norms) {
      for (int64_t b : per_worker) {
        const int64_t total = protocol == "per-worker" ? workers * b : total_batch, w = total / b;
        const double run_lr = lr * static_cast<double>(total) / lr_batch;
        Point point{norm, b, w, {}};
        for (int64_t s = 0; s < seeds; ++s) {
          const uint64_t seed = static_cast<uint64_t>(run.seed + s);
          flags.norm = norm;
          ModelOptions options = flags.options();
          options.zero_init_residual = true;  // γ = 0 in each block's last norm, the paper's recipe
          manual_seed(seed);  // the same initial weights for every b of a norm and seed
          std::shared_ptr<Module> model = build_model(options);
          set_bn_virtual_batch_size(*model, b);  // BN's statistics over one worker's images
          SGDOptions o;
          o.lr = run_lr;
          o.momentum = momentum;
          SGD opt(split_weight_decay(model->named_parameters(), weight_decay), o);
          DataLoader loader(train_data, total, true, true, default_transform(train_data, true), seed);
          const int64_t steps = loader.batches_per_epoch() * epochs;
          CosineAnnealingLR schedule(opt, steps);
          const Metrics m = train_steps(*model, opt, loader, steps,
                                        norm + " b=" + std::to_string(b) + " seed " + std::to_string(seed), {&schedule});
          const Metrics test = evaluate(*model, test_data);
          point.errors.push_back(1 - test.accuracy);
          std::printf("%-5s %10lld %8lld %6lld %9.5f %5llu %11.2f%% %9.1f\n", norm.c_str(), static_cast<long long>(b),
                      static_cast<long long>(w), static_cast<long long>(total), run_lr, static_cast<unsigned long long>(seed),
                      100 * (1 - test.accuracy), m.seconds);
          std::fflush(stdout);
          csv << norm << "," << b << "," << w << "," << total << "," << run_lr << "," << seed << "," << epochs << "," << steps
              << "," << 1 - test.accuracy << "," << test.loss << "," << m.seconds << "\n";
          csv.flush();
        }
        points.push_back(point);
      }
    }

    std::ofstream summary(summary_path);
    MINIDL_CHECK(summary, "cannot write ", summary_path);
    summary << "norm,images_per_worker,workers,runs,mean_test_error,std_test_error,min_test_error,max_test_error\n";
    std::printf("\n%-5s %10s %14s %10s\n", "norm", "per worker", "mean error", "std");
    for (const Point& p : points) {
      double mean = 0, var = 0, lo = 1, hi = 0;
      for (double e : p.errors) {
        mean += e / static_cast<double>(p.errors.size());
        lo = std::min(lo, e);
        hi = std::max(hi, e);
      }
      for (double e : p.errors) var += (e - mean) * (e - mean);
      const double sd = p.errors.size() > 1 ? std::sqrt(var / static_cast<double>(p.errors.size() - 1)) : 0;  // sample std
      std::printf("%-5s %10lld %13.2f%% %9.2f%%\n", p.norm.c_str(), static_cast<long long>(p.per_worker), 100 * mean, 100 * sd);
      summary << p.norm << "," << p.per_worker << "," << p.workers << "," << p.errors.size() << "," << mean << "," << sd << ","
              << lo << "," << hi << "\n";
    }
    std::printf("written to %s and %s\n", csv_path.c_str(), summary_path.c_str());
    return 0;
  });
}
