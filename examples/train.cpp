// train: trains a ResNet on Fashion-MNIST, CIFAR-10 or an image folder, with a progress bar,
// test accuracy after each epoch, a CSV log and an atomically written checkpoint.
//   build/bin/train --arch resnet20 --norm gn --epochs 15 --save run.safetensors --log run.csv

#include <cstdio>
#include <fstream>
#include <memory>

#include "checkpoint.h"
#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

int main(int argc, char** argv) {
  CLI::App app{"Trains a ResNet with SGD or AdamW. Data: fashion-mnist (Debian's dataset-fashion-mnist), "
               "cifar10:DIR (the CIFAR-10 binary batches) or folder:DIR (DIR/<class>/*.png|jpg, or DIR/train and "
               "DIR/test; images resized and center-cropped to --image-size)."};
  ModelFlags model_flags;
  model_flags.add_to(app, /*with_shape=*/false);
  DataFlags data;
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "seed for weights, shuffling and augmentation");
  std::string optim = "sgd", schedule = "cosine", device_name = "cpu", save, resume, log;
  int64_t batch = 128, epochs = 15, limit_train = 0, warmup = 0;
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4, label_smoothing = 0;
  bool zero_init = false, resume_without_state = false;
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs")->capture_default_str();
  app.add_option("--lr", lr, "peak learning rate")->capture_default_str();
  app.add_option("--momentum", momentum, "SGD momentum")->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "weight decay on conv/linear weights (none on norms and biases)")
      ->capture_default_str();
  app.add_option("--optim", optim, "sgd | adamw")->capture_default_str();
  app.add_option("--schedule", schedule, "cosine | step (÷10 at 50% and 75%) | none, per iteration")->capture_default_str();
  app.add_option("--warmup", warmup, "linear warm-up iterations")->capture_default_str();
  app.add_option("--label-smoothing", label_smoothing, "cross-entropy label smoothing")->capture_default_str();
  app.add_flag("--zero-init-residual", zero_init, "γ = 0 in the last norm of every residual block");
  add_device_option(app, device_name);
  app.add_option("--save", save, "checkpoint (model state dict, safetensors) written after every epoch; the training "
                                 "state goes to <name>.train.safetensors");
  app.add_option("--resume", resume, "continue from this checkpoint (and its .train.safetensors)");
  app.add_flag("--resume-without-state", resume_without_state,
               "with --resume: a checkpoint without the training state of its epoch starts a new optimizer and "
               "schedule from its weights (with a warning) instead of stopping");
  app.add_option("--log", log, "CSV log, one row per epoch");
  app.add_option("--limit-train", limit_train, "use only the first N training images (0: all)");
  CLI11_PARSE(app, argc, argv);

  return run_program("train", [&] {
    run.apply();
    const Device device = parse_device(device_name);
    MINIDL_CHECK(optim == "sgd" || optim == "adamw", "--optim: expected sgd or adamw, found ", optim);
    MINIDL_CHECK(schedule == "cosine" || schedule == "step" || schedule == "none",
                 "--schedule: expected cosine, step or none, found ", schedule);
    manual_seed(static_cast<uint64_t>(run.seed));

    ImageDataset train_data = data.train();
    const ImageDataset test_data = data.test();
    if (limit_train > 0) train_data = train_data.head(limit_train);
    model_flags.in_channels = train_data.channels;
    model_flags.num_classes = train_data.num_classes;
    ModelOptions options = model_flags.options();
    options.zero_init_residual = zero_init;
    std::shared_ptr<Module> model = build_model(options);
    model->to(device);  // before the optimizer is made, so that its state is made there too
    int64_t num_params = 0;
    for (const Tensor& p : model->parameters()) num_params += p.numel();

    std::unique_ptr<Optimizer> opt;
    std::vector<ParamGroup> groups = split_weight_decay(model->named_parameters(), weight_decay);
    if (optim == "sgd") {
      SGDOptions o;
      o.lr = lr;
      o.momentum = momentum;
      opt = std::make_unique<SGD>(groups, o);
    } else {
      AdamOptions o;
      o.lr = lr;
      opt = std::make_unique<AdamW>(groups, o);
    }
    DataLoader loader(train_data, batch, /*shuffle=*/true, /*drop_last=*/true, default_transform(train_data, true),
                      static_cast<uint64_t>(run.seed));
    const int64_t steps_per_epoch = loader.batches_per_epoch(), total_steps = steps_per_epoch * epochs;
    MINIDL_CHECK(steps_per_epoch > 0, "train: ", train_data.size(), " training images make no batch of ", batch);
    std::shared_ptr<LRScheduler> sched;
    if (schedule == "cosine") sched = std::make_shared<CosineAnnealingLR>(*opt, total_steps);
    if (schedule == "step") sched = std::make_shared<MultiStepLR>(*opt, std::vector<int64_t>{total_steps / 2, total_steps * 3 / 4});
    if (warmup > 0) sched = std::make_shared<LinearWarmup>(*opt, warmup, 0.1, sched);

    int64_t first_epoch = 0;
    if (!resume.empty()) {
      const Generation g = resume_generation(resume, resume_without_state);
      load_checkpoint(*model, g.model, resume);
      if (!g.state_path.empty()) {
        NamedTensors optimizer_state, scheduler_state;
        for (const auto& [name, t] : g.state.tensors) {
          if (name.rfind("optimizer.", 0) == 0) optimizer_state.emplace_back(name.substr(10), t);
          if (name.rfind("scheduler.", 0) == 0) scheduler_state.emplace_back(name.substr(10), t);
        }
        opt->load_state_dict(optimizer_state);
        if (sched && !scheduler_state.empty()) sched->load_state_dict(scheduler_state);
      } else {
        std::fprintf(stderr, "train: warning: %s has no training state of its epoch; a new optimizer and schedule start "
                             "from its weights\n", resume.c_str());
      }
      first_epoch = g.epoch + 1;
      std::printf("resumed from %s after epoch %lld\n", resume.c_str(), static_cast<long long>(first_epoch));
      if (!log.empty()) truncate_log(log, first_epoch);  // no row repeats an epoch
    }

    std::printf("%s (%s, %lld parameters) on %s: %lld training and %lld test images, batch %lld, %s lr %g, %s schedule\n",
                model_flags.arch.c_str(), model_flags.norm.c_str(), static_cast<long long>(num_params), train_data.name.c_str(),
                static_cast<long long>(train_data.size()), static_cast<long long>(test_data.size()),
                static_cast<long long>(batch), optim.c_str(), lr, schedule.c_str());
    std::ofstream csv;
    if (!log.empty()) {
      csv.open(log, first_epoch > 0 ? std::ios::app : std::ios::trunc);
      MINIDL_CHECK(csv, "train: cannot write the log ", log);
      if (first_epoch == 0) csv << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,images_per_second,seconds\n";
    }

    for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
      const Metrics train = train_steps(*model, *opt, loader, steps_per_epoch,
                                        "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs), sched.get(),
                                        epoch, label_smoothing, device);
      const Metrics test = evaluate(*model, test_data, 256, device);
      std::printf("epoch %lld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.0f img/s, %.1f s\n",
                  static_cast<long long>(epoch + 1), train.loss, 100 * train.accuracy, test.loss, 100 * test.accuracy,
                  train.images_per_second, train.seconds);
      std::fflush(stdout);
      if (csv.is_open()) {
        csv << epoch + 1 << "," << train.loss << "," << train.accuracy << "," << test.loss << "," << test.accuracy << ","
            << opt->lr() << "," << train.images_per_second << "," << train.seconds << "\n";
        csv.flush();
      }
      if (!save.empty()) {
        std::map<std::string, std::string> meta = model_flags.metadata();
        NamedTensors state;
        for (auto& [name, t] : opt->state_dict()) state.emplace_back("optimizer." + name, t);
        if (sched)
          for (auto& [name, t] : sched->state_dict()) state.emplace_back("scheduler." + name, t);
        std::map<std::string, std::string> state_meta = meta;
        state_meta["data"] = data.spec;
        state_meta["seed"] = std::to_string(run.seed);
        state_meta["batch"] = std::to_string(batch);
        save_generation(save, model->state_dict(), meta, state, state_meta, epoch);
      }
    }
    return 0;
  });
}
