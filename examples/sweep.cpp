// sweep: the batch-size figure of the GroupNorm paper at our scale. The same ResNet with BN and
// with GN, the same seed and the same number of training images in every run, the learning
// rate scaled linearly with the batch; test error per run to CSV. scripts/plot_sweep.py draws it.

#include <fstream>
#include <sstream>

#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

namespace {

std::vector<int64_t> parse_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    MINIDL_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos,
                 "--batches: expected a comma-separated list of sizes, found \"", text, "\"");
    out.push_back(std::stoll(item));
    MINIDL_CHECK(out.back() > 0, "--batches: expected batch sizes > 0, found ", out.back(), " in \"", text, "\"");
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the same model with BatchNorm and with GroupNorm at several batch sizes (same seed, same number "
               "of training images per run, learning rate = --lr × batch / --lr-batch) and writes each run's test error "
               "to CSV. --quick runs a few hundred images per run (what the tests run)."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/false);
  DataFlags data;
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "seed shared by every run");
  std::string batches_text = "64,32,16,8,4,2", csv_path = "sweep.csv";
  int64_t images = 12800, lr_batch = 64;
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
  bool quick = false;
  app.add_option("--batches", batches_text, "batch sizes, comma-separated")->capture_default_str();
  flags::add(app, "--images", images, "training images per run (steps = images / batch)", flags::positive);
  flags::add(app, "--lr", lr, "learning rate at batch --lr-batch", flags::positive_finite);
  flags::add(app, "--lr-batch", lr_batch, "the batch size --lr is given for", flags::positive);
  flags::add(app, "--csv", csv_path, "output CSV", flags::writable_path);
  app.add_flag("--quick", quick, "256 images per run, 500 test images");
  MINIDL_PARSE_FLAGS(app, argc, argv, "sweep");
  return run_program("sweep", [&] {
    run.apply();
    if (quick) {
      images = 256;
      data.limit_test = 500;
    }
    const std::vector<int64_t> batches = parse_list(batches_text);
    data.check();
    ModelFlags gn = flags;
    gn.norm = "gn";
    gn.build();  // a --groups that does not divide the channels fails here, before any loading
    const ImageDataset train_data = data.train(), test_data = data.test();
    flags.in_channels = train_data.channels;
    flags.num_classes = train_data.num_classes;

    std::ofstream csv(csv_path);
    MINIDL_CHECK(csv, "cannot write ", csv_path);
    csv << "norm,batch,lr,steps,images,test_error,test_loss,seconds\n";
    std::printf("%-5s %6s %9s %7s %12s %9s\n", "norm", "batch", "lr", "steps", "test error", "time (s)");
    for (const std::string norm : {"bn", "gn"}) {
      for (int64_t batch : batches) {
        flags.norm = norm;
        manual_seed(static_cast<uint64_t>(run.seed));  // the same initial weights for every run of a norm
        std::shared_ptr<Module> model = build_model(flags.options());
        const double run_lr = lr * static_cast<double>(batch) / static_cast<double>(lr_batch);
        const int64_t steps = std::max<int64_t>(images / batch, 1);
        SGDOptions o;
        o.lr = run_lr;
        o.momentum = momentum;
        SGD opt(split_weight_decay(model->named_parameters(), weight_decay), o);
        CosineAnnealingLR schedule(opt, steps);
        DataLoader loader(train_data, batch, true, true, default_transform(train_data, true), static_cast<uint64_t>(run.seed));
        const Metrics m = train_steps(*model, opt, loader, steps, norm + " batch " + std::to_string(batch), {&schedule});
        const Metrics test = evaluate(*model, test_data);
        std::printf("%-5s %6lld %9.5f %7lld %11.2f%% %9.1f\n", norm.c_str(), static_cast<long long>(batch), run_lr,
                    static_cast<long long>(steps), 100 * (1 - test.accuracy), m.seconds);
        std::fflush(stdout);
        csv << norm << "," << batch << "," << run_lr << "," << steps << "," << steps * batch << "," << 1 - test.accuracy << ","
            << test.loss << "," << m.seconds << "\n";
        csv.flush();
      }
    }
    std::printf("written to %s\n", csv_path.c_str());
    return 0;
  });
}
