// The training and evaluation loops the programs share (train, finetune, sweep).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <minidl/minidl.h>

#include "progress.h"

namespace minidl::examples {

inline std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// How many rows of logits [N, K] rank the label among their k largest (k = 1: the argmax is the
/// label; ties count for the label only when it comes first), read on the host.
inline int64_t topk_correct(const Tensor& gpu_or_cpu_logits, const Tensor& gpu_or_cpu_labels, int64_t k) {
  const Tensor logits = gpu_or_cpu_logits.detach().to(Device::cpu()).to(kFloat32), labels = gpu_or_cpu_labels.to(Device::cpu());
  const int64_t n = logits.size(0), classes = logits.size(1);
  const float* p = logits.data<float>();
  const int64_t* y = labels.data<int64_t>();
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * classes;
    const float own = row[y[i]];
    int64_t above = 0;  // classes ranked before the label: larger, or equal and earlier
    for (int64_t c = 0; c < classes; ++c) above += row[c] > own || (row[c] == own && c < y[i]);
    correct += above < k;
  }
  return correct;
}
inline int64_t correct_predictions(const Tensor& logits, const Tensor& labels) { return topk_correct(logits, labels, 1); }

/// Stops training with a minidl::Error at a non-finite loss or gradient, naming the step and the
/// tensor, before the optimizer writes it into the weights (after that, every step is NaN). The
/// gradients are checked by one sum over all of them (one wait on a GPU); only when it is not
/// finite is each looked at, to name it.
inline void check_finite_step(Module& model, const Tensor& loss, int64_t step) {
  const double l = loss.item<double>();
  MINIDL_CHECK(std::isfinite(l), "step ", step + 1, ": the loss is ", std::isnan(l) ? "nan" : l > 0 ? "inf" : "-inf",
               " (is the learning rate too high?)");
  NoGradGuard no_grad;
  Tensor total;
  for (const Tensor& p : model.parameters())
    if (p.grad().defined()) total = total.defined() ? total + sum(p.grad()) : sum(p.grad());
  if (!total.defined() || std::isfinite(total.item<double>())) return;
  for (const auto& [name, p] : model.named_parameters())
    MINIDL_CHECK(!p.grad().defined() || std::isfinite(sum(p.grad()).item<double>()), "step ", step + 1,
                 ": the gradient of ", name, " is not finite (the loss was ", l, ")");
  MINIDL_FAIL("step ", step + 1, ": the sum of the gradients is not finite (the loss was ", l, ")");
}

struct Metrics {
  double loss = 0, accuracy = 0, images_per_second = 0, seconds = 0;
  double top5 = 0;  // evaluate only: the label among the 5 largest logits
};

/// Mean loss and accuracy over `data`, in eval mode, without augmentation, on `device` (where the
/// model is); the model's mode is kept.
inline Metrics evaluate(Module& model, const ImageDataset& data, int64_t batch = 256, Device device = Device::cpu()) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  DataLoader loader(data, batch, /*shuffle=*/false, /*drop_last=*/false, default_transform(data, false), 0);
  loader.start_epoch(0);
  Metrics m;
  Batch b;
  while (loader.next(b)) {
    const Tensor labels = b.labels.to(device);
    const Tensor logits = model(b.images.to(device));
    m.loss += cross_entropy(logits, labels).item<double>() * static_cast<double>(b.labels.numel());
    m.accuracy += static_cast<double>(correct_predictions(logits, b.labels));
    m.top5 += static_cast<double>(topk_correct(logits, b.labels, 5));
  }
  m.loss /= static_cast<double>(data.size());
  m.accuracy /= static_cast<double>(data.size());
  m.top5 /= static_cast<double>(data.size());
  model.train(was_training);
  return m;
}

/// The first `images` of `data` in batches of `batch`, normalized as for evaluation and not
/// augmented: what swap_bn_to_gn calibrates on (swap, finetune).
inline std::vector<Tensor> calibration_batches(const ImageDataset& data, int64_t images, int64_t batch = 64) {
  const ImageDataset first = data.head(std::min(images, data.size()));
  DataLoader loader(first, batch, /*shuffle=*/false, /*drop_last=*/false, default_transform(data, false), 0);
  loader.start_epoch(0);
  std::vector<Tensor> out;
  Batch b;
  while (loader.next(b)) out.push_back(b.images);
  return out;
}

/// What train_steps does besides the forward, backward and optimizer step.
struct StepOptions {
  LRScheduler* scheduler = nullptr;  // stepped every batch
  int64_t first_epoch = 0;           // the loader's epoch to start from
  double label_smoothing = 0;
  Device device = Device::cpu();     // where the model is; batches are moved there
  double clip_grad_norm = 0;         // > 0: clip_grad_norm_ of all parameters before each step
  ExponentialMovingAverage* ema = nullptr;  // updated after each step
  bool freeze_bn = false;  // BatchNorm in eval mode: running statistics used and kept, γ and β trained
  // Data-parallel: forward through it, its synchronize() after backward; the loader is sharded
  // (loader.shard), so a batch here is this rank's slice of the global batch.
  dist::DistributedDataParallel* ddp = nullptr;
};

/// Puts every BatchNorm2d of `model` in eval mode (the rest keeps its mode): "frozen BN", as
/// detection systems fine-tune at small batches.
inline void freeze_batch_norm(Module& model) {
  for (auto& [name, m] : model.named_modules())
    if (dynamic_cast<BatchNorm2d*>(m)) m->eval();
}

/// `steps` optimizer steps on batches from `loader`, starting epochs as it runs out, with a
/// progress bar labeled `label`. Returns the mean training loss and accuracy, img/s and seconds.
inline Metrics train_steps(Module& model, Optimizer& opt, DataLoader& loader, int64_t steps, const std::string& label,
                           const StepOptions& o = {}) {
  model.train();
  if (o.freeze_bn) freeze_batch_norm(model);
  dist::ProcessGroup* group = o.ddp ? &o.ddp->group() : nullptr;
  Progress bar(label, steps, group == nullptr || group->is_main());
  const double ranks = group != nullptr ? group->size() : 1;  // the bar shows rank 0's figures, img/s for all
  double loss_sum = 0, correct = 0, seen = 0;
  int64_t epoch = o.first_epoch;
  loader.start_epoch(epoch);
  Batch b;
  const std::vector<Tensor> params = o.clip_grad_norm > 0 ? model.parameters() : std::vector<Tensor>{};
  for (int64_t step = 0; step < steps; ++step) {
    if (!loader.next(b)) {
      loader.start_epoch(++epoch);
      MINIDL_CHECK(loader.next(b), "train_steps: the loader yields no batch");
    }
    const Tensor labels = b.labels.to(o.device);
    const Tensor logits = o.ddp ? o.ddp->forward(b.images.to(o.device)) : model(b.images.to(o.device));
    const Tensor loss = cross_entropy(logits, labels, o.label_smoothing);
    opt.zero_grad();
    if (o.ddp) {
      // DDP averages the ranks' gradients; a rank with more of the batch than 1/world of it
      // weighs its loss up, so that the result is the gradient of the global batch's mean loss.
      const double share = static_cast<double>(b.labels.numel()) * group->size() / b.global_size;
      (share == 1 ? loss : loss * share).backward();
      o.ddp->synchronize();  // every rank now holds the same gradients, so all decide alike below
    } else {
      loss.backward();
    }
    check_finite_step(model, loss, step);
    if (o.clip_grad_norm > 0) clip_grad_norm_(params, o.clip_grad_norm);
    opt.step();
    if (o.ema) o.ema->update(model);
    if (o.scheduler) o.scheduler->step();
    const double n = static_cast<double>(b.labels.numel());
    loss_sum += loss.item<double>() * n;
    correct += static_cast<double>(correct_predictions(logits, b.labels));
    seen += n;
    bar.update(step + 1, "loss " + fixed(loss_sum / seen, 4) + "  acc " + fixed(100 * correct / seen, 2) + "%  " +
                             fixed(seen * ranks / bar.seconds(), 0) + " img/s");
  }
  bar.finish();
  if (group != nullptr) {  // the epoch's figures over every rank's images
    Tensor totals = from_vector(std::vector<double>{loss_sum, correct, seen}, {3});
    group->all_reduce(totals).wait();
    const std::vector<double> t = totals.to_vector<double>();
    loss_sum = t[0], correct = t[1], seen = t[2];
  }
  return {loss_sum / seen, correct / seen, seen / bar.seconds(), bar.seconds()};
}

}  // namespace minidl::examples
