// finetune: the seed's story — a pretrained BatchNorm ResNet becomes a GroupNorm ResNet and is
// fine-tuned at a small batch, where BatchNorm's batch statistics are poor.
//   1. the pretrained BN model's test accuracy;
//   2. BN → GN with mode=copy and with mode=calibrate, each one's accuracy right after the swap;
//   3. fine-tuning at batch 4 (by default) of (a) the calibrated GN model, (b) the copied GN model
//      and (c) the original BN model, with no weight decay on the norms' γ and β;
//   4. a table of accuracy after the swap, after fine-tuning and the time, also written as CSV.

#include <fstream>

#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

namespace {

struct Row {
  std::string model;
  double after_swap = 0, after_finetune = 0, seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Swaps the BatchNorm layers of a pretrained model for GroupNorm (copy and calibrate), fine-tunes the two "
               "GN models and the original BN model at a small batch, and prints the accuracies as a table (and CSV). "
               "The model's arch, norm and shape come from the checkpoint's metadata when it has them."};
  const std::string shipped = "models/pretrained/resnet20_bn_fashion_mnist.safetensors";
  std::string checkpoint;
  std::string csv_path = "finetune.csv";
  int64_t groups = 8, batch = 4, steps = 500, calibration_images = 256;
  double lr = 0.002, momentum = 0.9, weight_decay = 1e-4;
  app.add_option("--checkpoint", checkpoint,
                 "pretrained BatchNorm model (safetensors, as written by train); default: " + shipped +
                     ", shipped with minidl")
      ->check(flags::existing_file);
  DataFlags data;
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "seed for shuffling and augmentation");
  flags::add(app, "--groups", groups, "GroupNorm groups", flags::positive);
  flags::add(app, "--batch", batch, "fine-tuning batch size", flags::positive);
  flags::add(app, "--steps", steps, "fine-tuning steps per model", flags::positive);
  flags::add(app, "--lr", lr, "fine-tuning learning rate (constant)", flags::positive_finite);
  flags::add(app, "--weight-decay", weight_decay, "on conv and linear weights only (none on γ, β and biases)", flags::non_negative_finite);
  flags::add(app, "--calibration-images", calibration_images, "training images used to calibrate GN", flags::positive);
  flags::add(app, "--csv", csv_path, "where to write the table", flags::writable_path);
  MINIDL_PARSE_FLAGS(app, argc, argv, "finetune");
  if (checkpoint.empty()) checkpoint = shipped_file(shipped);

  return run_program("finetune", [&] {
    run.apply();
    data.check();
    ModelFlags flags;  // filled from the checkpoint's metadata
    LoadedModel pretrained = load_model(flags, checkpoint);
    MINIDL_CHECK(flags.norm == "bn", checkpoint, ": expected a BatchNorm model, found norm \"", flags.norm, "\"");
    // The cheap swap first: a --groups that does not divide a layer's channels fails before any work.
    std::shared_ptr<Module> gn_copy = load_model(flags, checkpoint).model;
    try {
      swap_bn_to_gn(*gn_copy, groups, SwapMode::Copy);
    } catch (const Error& e) {
      MINIDL_FAIL("--groups ", groups, ": ", e.what());
    }

    const ImageDataset train_data = data.train(), test_data = data.test();
    MINIDL_CHECK(train_data.channels == flags.in_channels && train_data.num_classes == flags.num_classes, checkpoint,
                 ": the model takes ", flags.in_channels, " channels and ", flags.num_classes, " classes, the data has ",
                 train_data.channels, " and ", train_data.num_classes);
    MINIDL_CHECK(train_data.size() >= batch, "--batch ", batch, ": the data has only ", train_data.size(), " training images");
    std::printf("%s %s from %s; fine-tuning at batch %lld for %lld steps, lr %g\n", flags.arch.c_str(), flags.norm.c_str(),
                checkpoint.c_str(), static_cast<long long>(batch), static_cast<long long>(steps), lr);

    // Calibration batches: the first training images, without augmentation.
    std::vector<Tensor> calibration;
    {
      const ImageDataset first = train_data.head(calibration_images);
      DataLoader loader(first, 64, false, false, default_transform(train_data, false), 0);
      loader.start_epoch(0);
      Batch b;
      while (loader.next(b)) calibration.push_back(b.images);
    }

    std::shared_ptr<Module> bn = pretrained.model;
    const double bn_accuracy = evaluate(*bn, test_data).accuracy;
    std::printf("pretrained BN model: test accuracy %.2f%%\n", 100 * bn_accuracy);
    std::shared_ptr<Module> gn_calibrated = load_model(flags, checkpoint).model;
    swap_bn_to_gn(*gn_calibrated, groups, SwapMode::Calibrate, calibration);

    std::vector<std::pair<std::string, std::shared_ptr<Module>>> runs = {
        {"GN (calibrate)", gn_calibrated}, {"GN (copy)", gn_copy}, {"BN", bn}};
    std::vector<Row> rows;
    for (auto& [name, model] : runs) {
      Row row{name, name == "BN" ? bn_accuracy : evaluate(*model, test_data).accuracy};
      std::printf("%s: test accuracy after the swap %.2f%%\n", name.c_str(), 100 * row.after_swap);
      SGDOptions o;
      o.lr = lr;
      o.momentum = momentum;
      SGD opt(split_weight_decay(model->named_parameters(), weight_decay), o);
      DataLoader loader(train_data, batch, true, true, default_transform(train_data, true), static_cast<uint64_t>(run.seed));
      const Metrics m = train_steps(*model, opt, loader, steps, "fine-tune " + name);
      row.after_finetune = evaluate(*model, test_data).accuracy;
      row.seconds = m.seconds;
      std::printf("%s: test accuracy after fine-tuning %.2f%% (%.1f s)\n", name.c_str(), 100 * row.after_finetune, row.seconds);
      rows.push_back(row);
    }

    std::printf("\n%-16s %14s %18s %10s\n", "model", "after swap", "after fine-tuning", "time (s)");
    std::ofstream csv(csv_path);
    MINIDL_CHECK(csv, "cannot write ", csv_path);
    csv << "model,accuracy_after_swap,accuracy_after_finetune,seconds,batch,steps,lr\n";
    for (const Row& r : rows) {
      std::printf("%-16s %13.2f%% %17.2f%% %10.1f\n", r.model.c_str(), 100 * r.after_swap, 100 * r.after_finetune, r.seconds);
      csv << r.model << "," << r.after_swap << "," << r.after_finetune << "," << r.seconds << "," << batch << "," << steps << ","
          << lr << "\n";
    }
    std::printf("written to %s\n", csv_path.c_str());
    return 0;
  });
}
