// swap: turns a BatchNorm checkpoint into a GroupNorm one (models/swap.h) and says what each way
// of choosing GroupNorm's γ and β keeps of the model's accuracy right after the swap, before any
// training:
//   copy     γ, β = BN's γ, β
//   moments  each channel's output mean and std = BN's, on the input the swapped model gives
//   lstsq    each channel's output = the original BN model's at that layer, least squares
//   distill  lstsq, then all γ, β fitted together to the BN model's logits (Adam, --fit-steps)
// The fits use the first --calibration-images training images of the model's
// own task (the checkpoint's card says which), without labels. --save writes the swapped model
// with its card (norm gn, the groups), for train --resume-without-state, infer or finetune.
//   build/bin/swap --checkpoint models/pretrained/resnet20_bn_fashion_mnist_0-4.safetensors

#include <chrono>
#include <fstream>

#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{
      "Swaps every BatchNorm2d of a BN checkpoint for GroupNorm, with γ and β copied (copy), matched in "
      "per-channel mean and std (moments), fitted by least squares to the BN model's outputs layer by layer (lstsq), "
      "or then fitted together to its logits (distill), on calibration images; prints the test accuracy of the BN "
      "model and of each swapped model. The task (data and classes) is the one the checkpoint's card records unless "
      "--data / --classes say otherwise. "
      "--save writes the swapped model."};
  const std::string shipped = "models/pretrained/resnet20_bn_fashion_mnist_0-4.safetensors";
  std::string checkpoint, modes_text = "copy,moments,lstsq,distill", save_path, csv_path;
  int64_t groups = 8, calibration_images = 256;
  SwapFit fit;
  app.add_option("--checkpoint", checkpoint, "the BatchNorm model; default: " + shipped)->check(flags::existing_file);
  DataFlags data;
  data.add_to(app);
  int threads = omp_get_max_threads();
  flags::add(app, "--threads", threads, "CPU threads", flags::positive);
  flags::add(app, "--groups", groups, "GroupNorm groups (must divide every BN layer's channels)", flags::positive);
  flags::add(app, "--modes", modes_text, "ways to set γ and β, comma-separated",
             flags::list_of({"copy", "moments", "lstsq", "distill"}));
  flags::add(app, "--calibration-images", calibration_images, "training images the fits (moments, lstsq, distill) use",
             flags::positive);
  flags::add(app, "--fit-steps", fit.steps, "distill: Adam steps on all γ, β (one calibration batch of 64 a step)",
             flags::positive);
  flags::add(app, "--fit-lr", fit.lr, "distill: Adam's learning rate", flags::positive_finite);
  flags::add(app, "--save", save_path, "write the swapped model here (needs one mode in --modes)",
             flags::writable_path);
  flags::add(app, "--csv", csv_path, "also write the table here", flags::writable_path);
  MINIDL_PARSE_FLAGS(app, argc, argv, "swap");
  if (checkpoint.empty()) checkpoint = shipped_file(shipped);

  return run_program("swap", [&] {
    set_num_threads(threads);
    std::vector<SwapMode> modes;
    for (const std::string& m : flags::split(modes_text)) modes.push_back(parse_swap_mode(m));
    MINIDL_CHECK(save_path.empty() || modes.size() == 1, "--save: expected one mode in --modes, found \"", modes_text,
                 "\"");

    ModelFlags model_flags;  // filled from the checkpoint's card
    LoadedModel bn = load_model(model_flags, checkpoint);
    MINIDL_CHECK(model_flags.norm == "bn", "--checkpoint ", checkpoint, ": expected a BatchNorm model, found norm ",
                 model_flags.norm);
    try {
      swap_bn_to_gn(*load_model(model_flags, checkpoint).model, groups, SwapMode::Copy);  // --groups fails here, early
    } catch (const Error& e) {
      MINIDL_FAIL("--groups ", groups, ": ", e.what());
    }
    // The task the model was trained for, as its card records it ("fashion-mnist classes 0-4").
    if (app.count("--data") == 0 && app.count("--classes") == 0 && !bn.card.data.empty()) {
      const std::string sep = " classes ";
      const size_t at = bn.card.data.find(sep);
      data.spec = bn.card.data.substr(0, at);
      if (at != std::string::npos) data.classes = bn.card.data.substr(at + sep.size());
    }
    data.check();
    const ImageDataset train_data = data.train(), test_data = data.test();
    MINIDL_CHECK(train_data.channels == model_flags.in_channels && train_data.num_classes == model_flags.num_classes,
                 checkpoint, ": the model takes ", model_flags.in_channels, " channels and has ",
                 model_flags.num_classes, " classes; --data ", data.spec,
                 (data.classes.empty() ? "" : " --classes " + data.classes), " has ", train_data.channels, " and ",
                 train_data.num_classes);
    std::printf(
        "%s: %s (%s), swapped to GroupNorm(%lld groups); test on %lld images of %s%s, calibration on %lld "
        "training images\n",
        checkpoint.c_str(), model_flags.arch.c_str(), model_flags.norm.c_str(), static_cast<long long>(groups),
        static_cast<long long>(test_data.size()), data.spec.c_str(),
        data.classes.empty() ? "" : (" classes " + data.classes).c_str(),
        static_cast<long long>(std::min(calibration_images, train_data.size())));
    const std::vector<Tensor> calibration = calibration_batches(train_data, calibration_images);

    struct Row {
      std::string model;
      double accuracy, seconds;
    };
    std::vector<Row> rows{{"BN (as trained)", evaluate(*bn.model, test_data).accuracy, 0}};
    std::shared_ptr<Module> swapped;
    for (SwapMode mode : modes) {
      swapped = load_model(model_flags, checkpoint).model;
      const auto start = std::chrono::steady_clock::now();
      swap_bn_to_gn(*swapped, groups, mode, calibration, fit);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      rows.push_back({"GN (" + to_string(mode) + ")", evaluate(*swapped, test_data).accuracy, seconds});
      std::printf("%-16s test accuracy %6.2f%% (swap %.1f s)\n", rows.back().model.c_str(), 100 * rows.back().accuracy,
                  seconds);
      std::fflush(stdout);
    }

    std::printf("\n%-16s %14s %10s %9s\n", "model", "test accuracy", "vs BN", "swap (s)");
    for (const Row& r : rows)
      std::printf("%-16s %13.2f%% %9.2f %9.1f\n", r.model.c_str(), 100 * r.accuracy,
                  100 * (r.accuracy - rows[0].accuracy), r.seconds);
    if (!csv_path.empty()) {
      std::ofstream csv(csv_path);
      MINIDL_CHECK(csv, "cannot write ", csv_path);
      csv << "model,test_accuracy,vs_bn,swap_seconds,groups,calibration_images\n";
      for (const Row& r : rows)
        csv << r.model << "," << r.accuracy << "," << r.accuracy - rows[0].accuracy << "," << r.seconds << "," << groups
            << "," << calibration_images << "\n";
      std::printf("written to %s\n", csv_path.c_str());
    }
    if (!save_path.empty()) {
      ModelCard card = bn.card;
      card.norm = "gn";
      card.groups = groups;
      save_safetensors(save_path, swapped->state_dict(), card.metadata());
      std::printf("saved the GroupNorm model to %s\n", save_path.c_str());
    }
    return 0;
  });
}
