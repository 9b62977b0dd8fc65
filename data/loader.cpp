#include "loader.h"

#include <algorithm>
#include <numeric>

#include "../core/random.h"

namespace minidl {
namespace {

// One generator stream per (seed, epoch): shuffles and augmentations never depend on timing.
Generator epoch_generator(uint64_t seed, int64_t epoch) {
  return Generator(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch) * 0xbf58476d1ce4e5b9ULL + 1);
}

}  // namespace

Transform default_transform(const ImageDataset& data, bool train) {
  Transform t;
  if (data.name.rfind("fashion-mnist", 0) == 0) {
    t.mean = {0.2860f};
    t.std = {0.3530f};
  } else if (data.name.rfind("cifar10", 0) == 0) {
    t.mean = {0.4914f, 0.4822f, 0.4465f};
    t.std = {0.2470f, 0.2435f, 0.2616f};
  } else {
    t.mean.assign(static_cast<size_t>(data.channels), 0.5f);
    t.std.assign(static_cast<size_t>(data.channels), 0.5f);
  }
  t.random_crop = train;
  t.pad = data.height >= 32 ? 4 : 2;
  t.horizontal_flip = train;
  return t;
}

DataLoader::DataLoader(const ImageDataset& data, int64_t batch_size, bool shuffle, bool drop_last, Transform transform,
                       uint64_t seed, int prefetch)
    : data_(data), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), transform_(std::move(transform)),
      seed_(seed), prefetch_(static_cast<size_t>(std::max(prefetch, 1))) {
  MINIDL_CHECK(batch_size > 0, "DataLoader: expected batch_size > 0, found ", batch_size);
  MINIDL_CHECK(data.size() > 0, "DataLoader: the data set ", data.name, " is empty");
  MINIDL_CHECK(transform_.mean.empty() || (static_cast<int64_t>(transform_.mean.size()) == data.channels &&
                                           transform_.std.size() == transform_.mean.size()),
               "DataLoader: expected ", data.channels, " per-channel means and stds, found ", transform_.mean.size(),
               " and ", transform_.std.size());
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  return drop_last_ ? data_.size() / batch_size_ : (data_.size() + batch_size_ - 1) / batch_size_;
}

void DataLoader::shard(int64_t rank, int64_t world) {
  MINIDL_CHECK(world >= 1 && rank >= 0 && rank < world, "DataLoader::shard: expected 0 <= rank < world, found rank ",
               rank, " of ", world);
  MINIDL_CHECK(batch_size_ >= world, "DataLoader::shard: a batch of ", batch_size_, " images cannot feed ", world,
               " ranks");
  stop();
  rank_ = rank;
  world_ = world;
}

// Rank r's slice of `count` images: [count·r/world, count·(r+1)/world).
static int64_t slice_begin(int64_t count, int64_t rank, int64_t world) { return count * rank / world; }

int64_t DataLoader::local_batch_size() const {
  return slice_begin(batch_size_, rank_ + 1, world_) - slice_begin(batch_size_, rank_, world_);
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
  ready_.clear();
}

void DataLoader::start_epoch(int64_t epoch) {
  stop();
  producing_ = true;
  worker_ = std::thread([this, epoch] { produce(epoch); });
}

void DataLoader::produce(int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(data_.size()));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle_) {
    // Fisher–Yates with the epoch's generator.
    Generator gen = epoch_generator(seed_, epoch);
    const uint64_t first = gen.advance(order.size());
    for (size_t i = order.size(); i-- > 1;) std::swap(order[i], order[gen.at(first + i) % (i + 1)]);
  }
  for (int64_t b = 0; b < batches_per_epoch(); ++b) {
    const int64_t first = b * batch_size_, count = std::min(batch_size_, data_.size() - first);
    const int64_t begin = slice_begin(count, rank_, world_), end = slice_begin(count, rank_ + 1, world_);
    Batch batch = make_batch(order, first + begin, end - begin, epoch);
    batch.global_size = count;
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || ready_.size() < prefetch_; });
    if (stopping_) break;
    ready_.push_back(std::move(batch));
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  producing_ = false;
  changed_.notify_all();
}

bool DataLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || !producing_; });
  if (ready_.empty()) return false;
  batch = std::move(ready_.front());
  ready_.pop_front();
  changed_.notify_all();
  return true;
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t first, int64_t count, int64_t epoch) const {
  const int64_t C = data_.channels, H = data_.height, W = data_.width, plane = H * W;
  Batch batch{Tensor::empty({count, C, H, W}), Tensor::empty({count}, kInt64)};
  float* out = batch.images.data<float>();
  int64_t* labels = batch.labels.data<int64_t>();
  // Two random words per sample, at the sample's position in the epoch (after the shuffle's).
  const Generator gen = epoch_generator(seed_ + 1, epoch);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = order[static_cast<size_t>(first + i)];
    labels[i] = data_.labels[static_cast<size_t>(index)];
    const uint8_t* src = data_.pixels.data() + index * C * plane;
    int64_t dy = 0, dx = 0;
    bool flip = false;
    if (transform_.random_crop) {
      const uint64_t r = gen.at(2 * static_cast<uint64_t>(first + i));
      const int64_t span = 2 * transform_.pad + 1;
      dy = static_cast<int64_t>(r % span) - transform_.pad;
      dx = static_cast<int64_t>((r / span) % span) - transform_.pad;
    }
    if (transform_.horizontal_flip) flip = gen.at(2 * static_cast<uint64_t>(first + i) + 1) & 1;
    for (int64_t c = 0; c < C; ++c) {
      const float scale = transform_.mean.empty() ? 1.0f / 255 : 1.0f / (255 * transform_.std[c]);
      const float shift = transform_.mean.empty() ? 0.0f : -transform_.mean[c] / transform_.std[c];
      float* dst = out + (i * C + c) * plane;
      const uint8_t* s = src + c * plane;
      for (int64_t y = 0; y < H; ++y) {
        const int64_t sy = y + dy;
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (flip ? W - 1 - x : x) + dx;
          // Outside the image is the zero padding (zero before normalization).
          const float v = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? s[sy * W + sx] : 0.0f;
          dst[y * W + x] = v * scale + shift;
        }
      }
    }
  }
  return batch;
}

}  // namespace minidl
