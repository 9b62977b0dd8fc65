// Image classification data sets held in memory as 8-bit pixels:
//   IDX files (Fashion-MNIST, MNIST), plain or gzipped;
//   CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin; 3073-byte records);
//   image folders root/<class>/*.png|jpg, decoded with stb_image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minidl {

struct ImageDataset {
  std::string name;
  int64_t channels = 0, height = 0, width = 0, num_classes = 0;
  std::vector<uint8_t> pixels;  // [size, channels, height, width]
  std::vector<int64_t> labels;  // [size], each in [0, num_classes)
  std::vector<std::string> class_names;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return channels * height * width; }
  /// The first n samples (n clipped to size()): small runs and tests.
  ImageDataset head(int64_t n) const;
};

/// An IDX image file (magic 0x00000803, [N, H, W] uint8) and its label file (0x00000801).
/// Files ending in .gz are decompressed with zlib.
ImageDataset load_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes = 10);

/// Fashion-MNIST from `dir` (default: Debian's dataset-fashion-mnist) — train or test split.
ImageDataset load_fashion_mnist(bool train, const std::string& dir = "/usr/share/datasets/fashion-mnist");

/// CIFAR-10 binary version from `dir`: data_batch_1..5.bin (train) or test_batch.bin.
ImageDataset load_cifar10(const std::string& dir, bool train);

/// One .png or .jpg file as `channels` (1: gray, 3: RGB) planes of uint8 [channels, size, size]:
/// resized so that the shorter side is `size`, then center-cropped. The file's signature must be
/// its extension's and its header at most 2^26 pixels, checked before decoding.
std::vector<uint8_t> load_image(const std::string& path, int64_t size, int64_t channels);

/// Every image under root/<class>/ (classes in sorted order), as RGB, resized so that the shorter
/// side is `size` and center-cropped to size × size.
ImageDataset load_image_folder(const std::string& root, int64_t size);

/// One part of `d` split per class without randomness: of each class's n images (in order), the
/// ones at positions i where floor((i + 1)·f) > floor(i·f) — floor(n·f) of them, spread evenly —
/// are the test part (`test`), the others the training part. f in [0, 1).
ImageDataset split_dataset(const ImageDataset& d, double test_fraction, bool test);

/// The images of `classes` only, relabeled 0, 1, ... in the order given (a task of a few classes,
/// for pretraining on some and fine-tuning on others); class names follow.
ImageDataset select_classes(const ImageDataset& d, const std::vector<int64_t>& classes);

/// "fashion-mnist", "cifar10:DIR" or "folder:DIR" (folder images at image_size²); for folders
/// the test split is DIR/test or, without it, DIR itself.
ImageDataset load_dataset(const std::string& spec, bool train, int64_t image_size = 32);

}  // namespace minidl
