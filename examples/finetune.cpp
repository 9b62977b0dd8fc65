// finetune: GroupNorm's transfer claim (Wu & He 2018, section 6) at our scale. A model
// pretrained on task A (Fashion-MNIST classes 0-4, models/pretrained/) is fine-tuned on task B
// (classes 5-9, a new head) at 2 images per step — where BatchNorm's batch statistics are poor:
//   (a) BN, fine-tuned in training mode (statistics of each 2-image batch);
//   (b) BN frozen: A's running statistics used and kept, γ and β trained (what detection systems do);
//   (c) GN, fine-tuned as it is;
//   (d) the BN model with its BatchNorm layers swapped for GroupNorm, its γ and β fitted on B's
//       images (--swap-mode; examples/swap.cpp compares the modes on task A).
// A table of B's test accuracy before (a fresh head: chance) and after fine-tuning, and the time,
// also written as CSV.

#include <fstream>

#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

namespace {

struct Row {
  std::string model;
  double before = 0, after = 0, seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Fine-tunes models pretrained on one task (Fashion-MNIST classes 0-4) on another (classes 5-9, a new "
               "head) at a small batch: BN in training mode, BN frozen, GN, and the BN model swapped to GN with "
               "its γ and β fitted on task B's images (--swap-mode). Prints B's test accuracy before and after, and "
               "the time, as a table (and CSV). Each "
               "model's arch, norm and shape come from its checkpoint's metadata."};
  const std::string shipped_bn = "models/pretrained/resnet20_bn_fashion_mnist_0-4.safetensors";
  const std::string shipped_gn = "models/pretrained/resnet20_gn_fashion_mnist_0-4.safetensors";
  std::string bn_checkpoint, gn_checkpoint, csv_path = "finetune.csv", swap_mode = "distill";
  int64_t groups = 8, batch = 2, steps = 1500, calibration_images = 256;
  double lr = 0.005, momentum = 0.9, weight_decay = 1e-4;
  app.add_option("--bn-checkpoint", bn_checkpoint, "the BatchNorm model pretrained on task A; default: " + shipped_bn)
      ->check(flags::existing_file);
  app.add_option("--gn-checkpoint", gn_checkpoint, "the GroupNorm model pretrained on task A; default: " + shipped_gn)
      ->check(flags::existing_file);
  DataFlags data;
  data.classes = "5-9";
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "seed for the new heads, shuffling and augmentation");
  flags::add(app, "--groups", groups, "GroupNorm groups of the swapped BN model (d)", flags::positive);
  flags::add(app, "--batch", batch, "fine-tuning batch size (images per step)", flags::positive);
  flags::add(app, "--steps", steps, "fine-tuning steps per model", flags::positive);
  flags::add(app, "--lr", lr, "fine-tuning learning rate (cosine to 0)", flags::positive_finite);
  flags::add(app, "--weight-decay", weight_decay, "on conv and linear weights only (none on γ, β and biases)",
             flags::non_negative_finite);
  flags::add(app, "--swap-mode", swap_mode,
             "how (d) sets GroupNorm's γ and β (models/swap.h): copy BN's, match its per-channel moments, fit its "
             "outputs by least squares layer by layer (lstsq), or lstsq and then fit its logits (distill)",
             flags::one_of({"copy", "moments", "lstsq", "distill"}));
  flags::add(app, "--calibration-images", calibration_images, "task B training images the fit of (d) uses",
             flags::positive);
  flags::add(app, "--csv", csv_path, "where to write the table", flags::writable_path);
  MINIDL_PARSE_FLAGS(app, argc, argv, "finetune");
  if (bn_checkpoint.empty()) bn_checkpoint = shipped_file(shipped_bn);
  if (gn_checkpoint.empty()) gn_checkpoint = shipped_file(shipped_gn);

  return run_program("finetune", [&] {
    run.apply();
    data.check();
    ModelFlags bn_flags, gn_flags;  // filled from the checkpoints' metadata
    LoadedModel bn = load_model(bn_flags, bn_checkpoint), gn = load_model(gn_flags, gn_checkpoint);
    MINIDL_CHECK(bn_flags.norm == "bn", "--bn-checkpoint ", bn_checkpoint, ": expected a BatchNorm model, found norm ",
                 bn_flags.norm);
    MINIDL_CHECK(gn_flags.norm == "gn", "--gn-checkpoint ", gn_checkpoint, ": expected a GroupNorm model, found norm ",
                 gn_flags.norm);
    // The cheap swap first: a --groups that does not divide a layer's channels fails before any work.
    std::shared_ptr<Module> swapped = load_model(bn_flags, bn_checkpoint).model;
    try {
      swap_bn_to_gn(*swapped, groups, SwapMode::Copy);
    } catch (const Error& e) {
      MINIDL_FAIL("--groups ", groups, ": ", e.what());
    }

    const ImageDataset train_data = data.train(), test_data = data.test();
    MINIDL_CHECK(train_data.channels == bn_flags.in_channels, bn_checkpoint, ": the model takes ", bn_flags.in_channels,
                 " channels, the data has ", train_data.channels);
    MINIDL_CHECK(train_data.size() >= batch, "--batch ", batch, ": the data has only ", train_data.size(), " training images");
    std::printf("task B: %s classes %s, %lld training and %lld test images; fine-tuning at batch %lld for %lld steps, lr %g\n",
                data.spec.c_str(), data.classes.c_str(), static_cast<long long>(train_data.size()),
                static_cast<long long>(test_data.size()), static_cast<long long>(batch), static_cast<long long>(steps), lr);
    std::printf("pretrained on task A: %s (%s), %s (%s)\n", bn_checkpoint.c_str(), bn.card.data.c_str(), gn_checkpoint.c_str(),
                gn.card.data.c_str());

    // (d): fitted on B's first training images, without augmentation.
    swapped = load_model(bn_flags, bn_checkpoint).model;
    swap_bn_to_gn(*swapped, groups, parse_swap_mode(swap_mode), calibration_batches(train_data, calibration_images));
    std::shared_ptr<Module> frozen = load_model(bn_flags, bn_checkpoint).model;

    struct Run {
      std::string name;
      std::shared_ptr<Module> model;
      bool freeze_bn;
    };
    const std::vector<Run> runs = {{"BN (train mode)", bn.model, false},
                                   {"BN (frozen)", frozen, true},
                                   {"GN", gn.model, false},
                                   {"BN -> GN (" + swap_mode + ")", swapped, false}};
    std::vector<Row> rows;
    for (const Run& r : runs) {
      manual_seed(static_cast<uint64_t>(run.seed));  // the same new head for every model
      reset_classifier(*r.model, train_data.num_classes);
      Row row{r.name, evaluate(*r.model, test_data).accuracy};
      SGDOptions o;
      o.lr = lr;
      o.momentum = momentum;
      SGD opt(split_weight_decay(r.model->named_parameters(), weight_decay), o);
      CosineAnnealingLR schedule(opt, steps);
      DataLoader loader(train_data, batch, true, true, default_transform(train_data, true), static_cast<uint64_t>(run.seed));
      StepOptions step;
      step.scheduler = &schedule;
      step.freeze_bn = r.freeze_bn;
      const Metrics m = train_steps(*r.model, opt, loader, steps, "fine-tune " + r.name, step);
      row.after = evaluate(*r.model, test_data).accuracy;
      row.seconds = m.seconds;
      std::printf("%s: task B test accuracy %.2f%% before, %.2f%% after fine-tuning (%.1f s)\n", r.name.c_str(),
                  100 * row.before, 100 * row.after, row.seconds);
      std::fflush(stdout);
      rows.push_back(row);
    }

    std::printf("\n%-22s %10s %10s %10s\n", "model", "before", "after", "time (s)");
    std::ofstream csv(csv_path);
    MINIDL_CHECK(csv, "cannot write ", csv_path);
    csv << "model,accuracy_before,accuracy_after,seconds,batch,steps,lr\n";
    for (const Row& r : rows) {
      std::printf("%-22s %9.2f%% %9.2f%% %10.1f\n", r.model.c_str(), 100 * r.before, 100 * r.after, r.seconds);
      csv << r.model << "," << r.before << "," << r.after << "," << r.seconds << "," << batch << "," << steps << "," << lr
          << "\n";
    }
    std::printf("written to %s\n", csv_path.c_str());
    return 0;
  });
}
