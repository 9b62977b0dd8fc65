// train: trains a ResNet on Fashion-MNIST, CIFAR-10 or an image folder, with a progress bar,
// test accuracy after each epoch, a CSV log and an atomically written checkpoint.
//   build/bin/train --arch resnet20 --norm gn --epochs 15 --save run.safetensors --log run.csv
// Data-parallel under mpirun: every rank trains on its slice of each global batch (--batch
// images per rank); rank 0 prints, evaluates, logs and saves.
//   mpirun -np 2 build/bin/train --threads 1 --batch 64 ...

#include <cstdio>
#include <fstream>
#include <memory>

#include "checkpoint.h"
#include "model_cli.h"
#include "training.h"

using namespace minidl;
using namespace minidl::examples;

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Trains a ResNet with SGD or AdamW. Data: fashion-mnist (Debian's dataset-fashion-mnist), "
               "cifar10:DIR (the CIFAR-10 binary batches) or folder:DIR (DIR/<class>/*.png|jpg, or DIR/train and "
               "DIR/test; images resized and center-cropped to --image-size)."};
  ModelFlags model_flags;
  model_flags.add_to(app, /*with_shape=*/false);
  DataFlags data;
  data.add_to(app);
  RunFlags run;
  run.add_to(app, "seed for weights, shuffling and augmentation");
  std::string optim = "sgd", schedule = "cosine", device_name = "cpu", save, resume, log, checkpoint;
  int64_t batch = 128, epochs = 15, limit_train = 0, warmup = 0;
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4, label_smoothing = 0, dropout = 0, clip_grad_norm = 0, ema_decay = 0;
  bool zero_init = false, resume_without_state = false, eval_only = false, list_archs = false;
  bool sync_bn = false, no_overlap = false;
  int64_t max_steps = 0;
  // PyTorch's default. A 1 MB CIFAR ResNet then has one bucket, reduced after backward: on 2
  // shared cores, 6 overlapped buckets of 0.25 MB were no faster (bench/data_parallel.py).
  double bucket_mb = 25;
  flags::add(app, "--batch", batch, "batch size (per rank under mpirun: the global batch is ranks x this)",
             flags::positive);
  flags::add(app, "--max-steps", max_steps, "stop after this many optimizer steps in all (0: run every epoch)",
             flags::non_negative);
  app.add_flag("--sync-bn", sync_bn, "under mpirun: SyncBatchNorm, statistics over every rank's images (default: "
                                     "each rank's own, as BN on N GPUs without synchronization)");
  flags::add(app, "--bucket-mb", bucket_mb, "under mpirun: gradient bucket size for the all-reduce, MB",
             flags::positive_finite);
  app.add_flag("--no-overlap", no_overlap, "under mpirun: all-reduce the gradients after backward instead of during "
                                            "it (to measure what the overlap saves)");
  flags::add(app, "--epochs", epochs, "epochs", flags::positive);
  flags::add(app, "--lr", lr, "peak learning rate", flags::positive_finite);
  flags::add(app, "--momentum", momentum, "SGD momentum", flags::non_negative_finite);
  flags::add(app, "--weight-decay", weight_decay, "weight decay on conv/linear weights (none on norms and biases)",
             flags::non_negative_finite);
  flags::add(app, "--optim", optim, "sgd | adamw", flags::one_of({"sgd", "adamw"}));
  flags::add(app, "--schedule", schedule, "cosine | step (÷10 at 50% and 75%) | none, per iteration",
             flags::one_of({"cosine", "step", "none"}));
  flags::add(app, "--warmup", warmup, "linear warm-up iterations", flags::non_negative);
  flags::add(app, "--label-smoothing", label_smoothing, "cross-entropy label smoothing ε (the target puts ε/K on every class)",
             flags::fraction);
  flags::add(app, "--dropout", dropout, "Dropout(p) before the classifier (0: none)", flags::fraction);
  flags::add(app, "--clip-grad-norm", clip_grad_norm, "clip the global L2 norm of the gradients to this (0: no clipping)",
             flags::non_negative_finite);
  flags::add(app, "--ema", ema_decay,
             "keep an exponential moving average of the weights with this decay (e.g. 0.999) and test it too; it is "
             "saved in the training state as ema.<name> (0: none)",
             flags::fraction);
  app.add_flag("--zero-init-residual", zero_init, "γ = 0 in the last norm of every residual block");
  add_device_option(app, device_name);
  app.add_option("--save", save, "checkpoint (model state dict, safetensors) written after every epoch; the training "
                                 "state goes to <name>.train.safetensors")
      ->check(flags::writable_path);
  app.add_option("--resume", resume, "continue from this checkpoint (and its .train.safetensors)")->check(flags::existing_file);
  app.add_flag("--resume-without-state", resume_without_state,
               "with --resume: a checkpoint without the training state of its epoch starts a new optimizer and "
               "schedule from its weights (with a warning) instead of stopping");
  app.add_option("--log", log, "CSV log, one row per epoch")->check(flags::writable_path);
  app.add_option("--limit-train", limit_train, "use only the first N training images (0: all)")->check(flags::non_negative);
  app.add_flag("--eval-only", eval_only, "only evaluate --checkpoint on the test set: loss, top-1 and top-5 accuracy");
  app.add_option("--checkpoint", checkpoint, "with --eval-only: the model to evaluate (its metadata gives arch and norm)")
      ->check(flags::existing_file);
  app.add_flag("--list-archs", list_archs, "list the architectures with their parameter counts and exit");
  MINIDL_PARSE_FLAGS(app, argc, argv, "train");

  std::unique_ptr<dist::ProcessGroup> group;  // outlives run_program's handling of an error
  return run_program("train", [&] {
    group = join_job("train");
    const bool main_rank = group->is_main();
    // N ranks on one machine share its cores: unless told, each takes its share.
    if (group->size() > 1 && app.count("--threads") == 0) run.threads = threads_per_rank();
    run.apply();
    if (list_archs) {
      std::printf("%-14s %12s   (1 input channel, 10 classes)\n", "arch", "parameters");
      for (const std::string& name : model_names()) {
        ModelOptions o;
        o.arch = name;
        o.in_channels = 1;
        int64_t n = 0;
        for (const Tensor& p : build_model(o)->parameters()) n += p.numel();
        std::printf("%-14s %12lld\n", name.c_str(), static_cast<long long>(n));
      }
      return 0;
    }
    const Device device = parse_device(device_name);
    MINIDL_CHECK(!eval_only || !checkpoint.empty(), "--eval-only needs --checkpoint FILE");
    MINIDL_CHECK(eval_only || checkpoint.empty(), "--checkpoint is for --eval-only; to continue training use --resume");
    MINIDL_CHECK(!(eval_only && !resume.empty()), "--eval-only takes --checkpoint, not --resume");
    data.check();
    manual_seed(static_cast<uint64_t>(run.seed));

    if (eval_only) {
      const ImageDataset test_data = data.test();
      model_flags.in_channels = test_data.channels;
      model_flags.num_classes = test_data.num_classes;
      LoadedModel m = load_model(model_flags, checkpoint, device);
      const Metrics test = evaluate(*m.model, test_data, 256, device);
      std::printf("%s (%s) on %lld test images of %s: loss %.4f, top-1 %.2f%%, top-5 %.2f%%\n", model_flags.arch.c_str(),
                  model_flags.norm.c_str(), static_cast<long long>(test_data.size()), test_data.name.c_str(), test.loss,
                  100 * test.accuracy, 100 * test.top5);
      return 0;
    }

    ImageDataset train_data = data.train();
    const ImageDataset test_data = data.test();
    if (limit_train > 0) train_data = train_data.head(limit_train);
    model_flags.in_channels = train_data.channels;
    model_flags.num_classes = train_data.num_classes;
    ModelOptions options = model_flags.options();
    options.zero_init_residual = zero_init;
    options.dropout = dropout;
    model_flags.build();  // a --groups that does not divide the channels fails here, naming the flag
    std::shared_ptr<Module> model = build_model(options);
    model->to(device);  // before the optimizer is made, so that its state is made there too
    MINIDL_CHECK(!sync_bn || model_flags.norm == "bn", "--sync-bn needs --norm bn, found --norm ", model_flags.norm);
    if (sync_bn) dist::convert_sync_batchnorm(*model, *group);  // before the optimizer: new parameters
    int64_t num_params = 0;
    for (const Tensor& p : model->parameters()) num_params += p.numel();
    const Transform train_transform = default_transform(train_data, true);
    const ModelCard card =
        ModelCard::of(model_flags.arch, model_flags.norm, model_flags.resolved_groups(), train_data, train_transform,
                      data.spec + (data.classes.empty() ? "" : " classes " + data.classes));

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
    std::unique_ptr<ExponentialMovingAverage> ema;
    if (ema_decay > 0) ema = std::make_unique<ExponentialMovingAverage>(*model, ema_decay);
    // One loader per rank over the global batches; each rank takes its slice of each.
    const int64_t global_batch = batch * group->size();
    DataLoader loader(train_data, global_batch, /*shuffle=*/true, /*drop_last=*/true, train_transform,
                      static_cast<uint64_t>(run.seed));
    loader.shard(group->rank(), group->size());
    const int64_t steps_per_epoch = loader.batches_per_epoch(), total_steps = steps_per_epoch * epochs;
    MINIDL_CHECK(steps_per_epoch > 0, "--batch ", batch, ": ", train_data.size(), " training images make no batch of ",
                 global_batch);
    std::shared_ptr<LRScheduler> sched;
    if (schedule == "cosine") sched = std::make_shared<CosineAnnealingLR>(*opt, total_steps);
    if (schedule == "step") sched = std::make_shared<MultiStepLR>(*opt, std::vector<int64_t>{total_steps / 2, total_steps * 3 / 4});
    if (warmup > 0) sched = std::make_shared<LinearWarmup>(*opt, warmup, 0.1, sched);

    int64_t first_epoch = 0;
    if (!resume.empty()) {
      const Generation g = resume_generation(resume, resume_without_state);
      load_checkpoint(*model, g.model, resume);
      if (ema) ema = std::make_unique<ExponentialMovingAverage>(*model, ema_decay);  // from the resumed weights
      if (!g.state_path.empty()) {
        NamedTensors optimizer_state, scheduler_state, ema_state;
        for (const auto& [name, t] : g.state.tensors) {
          if (name.rfind("optimizer.", 0) == 0) optimizer_state.emplace_back(name.substr(10), t);
          if (name.rfind("scheduler.", 0) == 0) scheduler_state.emplace_back(name.substr(10), t);
          if (name.rfind("ema.", 0) == 0) ema_state.emplace_back(name.substr(4), t);
        }
        opt->load_state_dict(optimizer_state);
        if (sched && !scheduler_state.empty()) sched->load_state_dict(scheduler_state);
        if (ema && !ema_state.empty()) ema->load_state_dict(ema_state);
      } else {
        std::fprintf(stderr, "train: warning: %s has no training state of its epoch; a new optimizer and schedule start "
                             "from its weights\n", resume.c_str());
      }
      first_epoch = g.epoch + 1;
      if (main_rank) std::printf("resumed from %s after epoch %lld\n", resume.c_str(), static_cast<long long>(first_epoch));
      if (!log.empty() && main_rank) truncate_log(log, first_epoch);  // no row repeats an epoch
    }

    std::unique_ptr<dist::DistributedDataParallel> ddp;
    if (group->size() > 1) {
      dist::DdpOptions o;
      o.bucket_cap_mb = bucket_mb;
      o.overlap = !no_overlap;
      ddp = std::make_unique<dist::DistributedDataParallel>(*model, *group, o);  // rank 0's weights everywhere
    }
    if (main_rank && group->size() > 1)
      std::printf("data-parallel: %d ranks (%s), %d threads each, %lld images per rank per step, %s BN statistics, "
                  "%lld gradient buckets\n", group->size(), group->backend_name().c_str(), run.threads,
                  static_cast<long long>(batch), sync_bn ? "synchronized" : "per-rank",
                  static_cast<long long>(ddp->bucket_count()));
    // The device line names the CPU kernels' path (core/cpu_capability.h): it decides the speed.
    const std::string threads = (adaptive_threads() ? "up to " : "") + std::to_string(run.threads) + " threads";
    const std::string where = device.is_cpu() ? "cpu, " + cpu_description() + ", " + threads : to_string(device);
    if (main_rank) std::printf("%s (%s, %lld parameters) on %s: %lld training and %lld test images, batch %lld, %s lr %g, %s schedule; %s\n",
                model_flags.arch.c_str(), model_flags.norm.c_str(), static_cast<long long>(num_params), train_data.name.c_str(),
                static_cast<long long>(train_data.size()), static_cast<long long>(test_data.size()),
                static_cast<long long>(global_batch), optim.c_str(), lr, schedule.c_str(), where.c_str());
    std::ofstream csv;
    if (!log.empty() && main_rank) {
      csv.open(log, first_epoch > 0 ? std::ios::app : std::ios::trunc);
      MINIDL_CHECK(csv, "cannot write the log ", log);
      if (first_epoch == 0)
        csv << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,test_top5,lr,images_per_second,seconds"
            << (ema ? ",ema_test_accuracy" : "") << "\n";
    }
    std::shared_ptr<Module> averaged = ema ? build_model(options) : nullptr;
    if (averaged) averaged->to(device);

    StepOptions step_options;
    step_options.scheduler = sched.get();
    step_options.label_smoothing = label_smoothing;
    step_options.device = device;
    step_options.clip_grad_norm = clip_grad_norm;
    step_options.ema = ema.get();
    step_options.ddp = ddp.get();
    int64_t steps_done = first_epoch * steps_per_epoch;
    for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
      if (max_steps > 0 && steps_done >= max_steps) break;
      const int64_t steps = max_steps > 0 ? std::min(steps_per_epoch, max_steps - steps_done) : steps_per_epoch;
      step_options.first_epoch = epoch;
      const Metrics train = train_steps(*model, *opt, loader, steps,
                                        "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs), step_options);
      steps_done += steps;
      if (!main_rank) continue;  // rank 0 tests, logs and saves; the others go on to the next epoch
      const Metrics test = evaluate(*model, test_data, 256, device);
      std::string ema_text;
      double ema_accuracy = 0;
      if (averaged) {
        averaged->load_state_dict(ema->state_dict());
        ema_accuracy = evaluate(*averaged, test_data, 256, device).accuracy;
        ema_text = " (EMA " + fixed(100 * ema_accuracy, 2) + "%)";
      }
      // Top-5 says something only with more than 5 classes.
      const std::string top5 = train_data.num_classes > 5 ? " top-5 " + fixed(100 * test.top5, 2) + "%" : "";
      std::printf("epoch %lld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%%%s%s | %.0f img/s, %.1f s\n",
                  static_cast<long long>(epoch + 1), train.loss, 100 * train.accuracy, test.loss, 100 * test.accuracy,
                  ema_text.c_str(), top5.c_str(), train.images_per_second, train.seconds);
      std::fflush(stdout);
      if (csv.is_open()) {
        csv << epoch + 1 << "," << train.loss << "," << train.accuracy << "," << test.loss << "," << test.accuracy << ","
            << test.top5 << "," << opt->lr() << "," << train.images_per_second << "," << train.seconds;
        if (ema) csv << "," << ema_accuracy;
        csv << "\n";
        csv.flush();
      }
      if (!save.empty()) {
        const std::map<std::string, std::string> meta = card.metadata();
        NamedTensors state;
        for (auto& [name, t] : opt->state_dict()) state.emplace_back("optimizer." + name, t);
        if (sched)
          for (auto& [name, t] : sched->state_dict()) state.emplace_back("scheduler." + name, t);
        if (ema)
          for (auto& [name, t] : ema->state_dict()) state.emplace_back("ema." + name, t);
        std::map<std::string, std::string> state_meta = meta;
        state_meta["seed"] = std::to_string(run.seed);
        state_meta["batch"] = std::to_string(batch);
        save_generation(save, model->state_dict(), meta, state, state_meta, epoch);
      }
    }
    if (ddp && main_rank) {
      const dist::DdpStats& t = ddp->total_stats();
      std::printf("all-reduce: %lld buckets, %.2f MB per step; %.3f s reducing in %lld steps, of which %.3f s "
                  "waited for after backward (%s)\n",
                  static_cast<long long>(t.buckets), t.bytes / 1e6, t.reduce_seconds,
                  static_cast<long long>(ddp->steps()), t.wait_seconds, no_overlap ? "not overlapped" : "overlapped");
    }
    return 0;
  });
}
