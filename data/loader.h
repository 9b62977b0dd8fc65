// DataLoader: shuffled, augmented float batches from an ImageDataset, prepared on a background
// thread so that the model does not wait for data.
//
// Everything random is a function of (seed, epoch, position), never of thread timing: the same
// seed gives the same batches, the same crops and the same flips on every run.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "../core/tensor.h"
#include "dataset.h"

namespace minidl {

/// Per-sample transforms, applied in this order: random crop (zero padding `pad` on every side,
/// then a crop of the original size), horizontal flip (probability ½), to float in [0, 1],
/// then (x − mean[c]) / std[c].
struct Transform {
  bool random_crop = false;
  int64_t pad = 4;
  bool horizontal_flip = false;
  std::vector<float> mean, std;  // per channel; empty = no normalization
};

/// The usual per-channel statistics: Fashion-MNIST's and CIFAR-10's training sets, else 0.5/0.5.
Transform default_transform(const ImageDataset& data, bool train);

struct Batch {
  Tensor images;  // float32 [B, C, H, W]
  Tensor labels;  // int64 [B]
  int64_t global_size = 0;  // B, or in a sharded loader the images of the batch over every rank
};

class DataLoader {
 public:
  /// `data` must outlive the loader. prefetch = how many batches may wait ready.
  DataLoader(const ImageDataset& data, int64_t batch_size, bool shuffle, bool drop_last, Transform transform,
             uint64_t seed, int prefetch = 2);
  /// A temporary data set would be gone before the background thread reads it.
  DataLoader(ImageDataset&& data, int64_t batch_size, bool shuffle, bool drop_last, Transform transform, uint64_t seed,
             int prefetch = 2) = delete;
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Data-parallel training: this loader yields only rank `rank`'s part of each batch — of the
  /// batch_size images a single process would see, in the same order and with the same
  /// augmentations (they follow each image's position in the epoch), the `rank`-th of `world`
  /// slices [n·rank/world, n·(rank+1)/world) of each batch of n. Call before start_epoch.
  void shard(int64_t rank, int64_t world);
  /// The images this rank gets of a full batch.
  int64_t local_batch_size() const;

  /// Starts epoch `epoch` (its own shuffle and augmentation); the background thread begins
  /// preparing its batches at once.
  void start_epoch(int64_t epoch);
  /// The next batch of the epoch; false once the epoch is done.
  bool next(Batch& batch);
  int64_t batches_per_epoch() const;
  int64_t batch_size() const { return batch_size_; }

 private:
  void produce(int64_t epoch);
  Batch make_batch(const std::vector<int64_t>& order, int64_t first, int64_t count, int64_t epoch) const;
  void stop();

  const ImageDataset& data_;
  int64_t batch_size_;
  bool shuffle_, drop_last_;
  Transform transform_;
  uint64_t seed_;
  size_t prefetch_;
  int64_t rank_ = 0, world_ = 1;

  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool producing_ = false, stopping_ = false;
};

}  // namespace minidl
