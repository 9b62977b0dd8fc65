// Data sets and the loader, on small files generated here: IDX (plain and gzipped), CIFAR-10
// binary records, image folders; shuffling, augmentation and prefetching.
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {


std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

void write(const std::string& path, const std::string& bytes, bool gzip = false) {
  if (!gzip) {
    std::ofstream(path, std::ios::binary) << bytes;
    return;
  }
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// n images of h × w whose pixel (y, x) of image i is (i + y + x) % 256, labels i % 3.
void write_idx(const std::string& images, const std::string& labels, int n, int h, int w, bool gzip) {
  std::string img = be32(0x803) + be32(n) + be32(h) + be32(w), lab = be32(0x801) + be32(n);
  for (int i = 0; i < n; ++i) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) img += char((i + y + x) % 256);
    lab += char(i % 3);
  }
  write(images, img, gzip);
  write(labels, lab, gzip);
}

}  // namespace

TEST_CASE("IDX files load, plain and gzipped, and bad ones are named") {
  test::TempDir dir("data");
  for (bool gzip : {false, true}) {
    const std::string suffix = gzip ? ".gz" : "";
    write_idx(dir.file("img" + suffix), dir.file("lab" + suffix), 5, 4, 3, gzip);
    const ImageDataset d = load_idx(dir.file("img" + suffix), dir.file("lab" + suffix), 3);
    CHECK(d.size() == 5);
    CHECK(d.channels == 1);
    CHECK(d.height == 4);
    CHECK(d.width == 3);
    CHECK(d.pixels[2 * 12 + 1 * 3 + 2] == 5);  // image 2, y 1, x 2
    CHECK(d.labels[4] == 1);
  }
  std::string truncated = be32(0x803) + be32(5) + be32(4) + be32(3) + std::string(10, '\0');
  write(dir.file("short"), truncated);
  CHECK_ERROR(load_idx(dir.file("short"), dir.file("lab")), "short: expected 76 bytes for 60 values after the header, found 26 (truncated)");
  write(dir.file("magic"), be32(0x801) + be32(0));
  CHECK_ERROR(load_idx(dir.file("magic"), dir.file("lab")), "magic: truncated: expected a 16-byte header");
  write(dir.file("corrupt.gz"), "\x1f\x8b not really gzip");
  CHECK_ERROR(load_idx(dir.file("corrupt.gz"), dir.file("lab")), "corrupt.gz");
  CHECK_ERROR(load_idx(dir.file("nope"), dir.file("lab")), "load_idx: " + dir.file("nope") + " does not exist");
  write_idx(dir.file("img6"), dir.file("lab6"), 6, 4, 3, false);
  CHECK_ERROR(load_idx(dir.file("img6"), dir.file("lab")), "holds 6 images but");
  CHECK_ERROR(load_idx(dir.file("img6"), dir.file("lab6"), 2), "label 2 of sample 2 is out of range for 2 classes");
}

TEST_CASE("IDX sizes from the header are bounded before anything is read or inflated") {
  test::TempDir dir("data");
  write_idx(dir.file("img"), dir.file("lab"), 5, 4, 3, false);
  // Sizes whose product overflows int64, and one that wraps to a small number in 64 bits.
  write(dir.file("overflow"), be32(0x803) + be32(0xffffffff) + be32(0xffffffc3) + be32(0xffffffff));
  CHECK_ERROR(load_idx(dir.file("overflow"), dir.file("lab")), "overflow: the header's sizes: ");
  CHECK_ERROR(load_idx(dir.file("overflow"), dir.file("lab")), "does not fit in 64 bits");
  write(dir.file("wrap"), be32(0x803) + be32(4) + be32(3221422086u) + be32(4294705160u) + std::string(192, '\0'));
  CHECK_ERROR(load_idx(dir.file("wrap"), dir.file("lab")), "does not fit in 64 bits");
  // A gzip bomb: the header declares one 1x1 image, the stream inflates to 64 MB. It is refused
  // after the declared byte and one more, not after inflating it all.
  const std::string bomb = be32(0x803) + be32(1) + be32(1) + be32(1) + std::string(64 << 20, '\0');
  write(dir.file("bomb.gz"), bomb, /*gzip=*/true);
  write(dir.file("one.gz"), be32(0x801) + be32(1) + std::string(1, '\0'), true);
  CHECK_ERROR(load_idx(dir.file("bomb.gz"), dir.file("one.gz")), "bomb.gz: expected 17 bytes for 1 values after the header, found more");
  // More bytes than declared in a plain file, too.
  write(dir.file("long"), be32(0x803) + be32(1) + be32(1) + be32(1) + "xy");
  CHECK_ERROR(load_idx(dir.file("long"), dir.file("lab")), "long: expected 17 bytes for 1 values after the header, found more");
}

TEST_CASE("image files are checked before they are decoded: format, declared size, resized size") {
  test::TempDir dir("data");
  fs::create_directories(dir.path / "c");
  // TGA bytes (no signature) under a .png name: stb would decode them as TGA.
  write(dir.file("c/tga.png"), std::string("\0\0\x02\0\0\0\0\0\0\0\0\0\xff\x7f\xff\x7f\x18\0", 18));
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "tga.png: not a PNG file");
  fs::remove(dir.file("c/tga.png"));
  // A PNG header (IHDR) that declares a huge image, without its data.
  auto png_header = [](uint32_t w, uint32_t h) {
    return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(w) + be32(h) + std::string("\x08\x02\0\0\0", 5) +
           be32(0);
  };
  write(dir.file("c/big.png"), png_header(16384, 16384));
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "big.png: the header declares a 16384x16384 image (expected at most 2^26 pixels)");
  // 1 x 16,777,216 fits, but resized to a shorter side of 8 it would be 8 x 134,217,728.
  write(dir.file("c/big.png"), png_header(1, 16777216));
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "big.png: a 1x16777216 image resized to a shorter side of 8 would be");
  // A chunk that declares more bytes than the file holds (stb would allocate them first).
  write(dir.file("c/big.png"), png_header(4, 3) + be32(0x7fff0000) + "IDAT" + "xy");
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "big.png: PNG chunk 'IDAT' at byte offset 33 declares 2147418112 bytes, past the end");
  write(dir.file("c/big.jpg"), "\xff\xd8\xff");
  fs::remove(dir.file("c/big.png"));
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "big.jpg: cannot read the header");
}

TEST_CASE("Fashion-MNIST from Debian's package") {
  REQUIRE_FASHION_MNIST();
  const ImageDataset test = load_fashion_mnist(false);
  CHECK(test.size() == 10000);
  CHECK(test.height == 28);
  CHECK(test.num_classes == 10);
  std::set<int64_t> classes(test.labels.begin(), test.labels.end());
  CHECK(classes.size() == 10);
  CHECK_ERROR(load_fashion_mnist(false, "/nonexistent"), "load_fashion_mnist: /nonexistent is not a directory");
}

TEST_CASE("CIFAR-10 binary batches load; truncated ones are refused") {
  test::TempDir dir("data");
  std::string record(3073, '\0'), batch;
  for (int i = 0; i < 4; ++i) {
    record[0] = char(i % 10);
    record[1] = char(i);            // red, pixel (0, 0)
    record[1 + 1024] = char(100);   // green, pixel (0, 0)
    batch += record;
  }
  for (int b = 1; b <= 5; ++b) write(dir.file("data_batch_" + std::to_string(b) + ".bin"), batch);
  write(dir.file("test_batch.bin"), batch.substr(0, 3073 * 2));
  const ImageDataset train = load_cifar10(dir.path.string(), true);
  CHECK(train.size() == 20);
  CHECK(train.channels == 3);
  CHECK(train.pixels[3 * 3072 + 0] == 3);
  CHECK(train.pixels[3 * 3072 + 1024] == 100);
  CHECK(load_cifar10(dir.path.string(), false).size() == 2);
  write(dir.file("test_batch.bin"), batch.substr(0, 3073 + 100));
  CHECK_ERROR(load_cifar10(dir.path.string(), false), "test_batch.bin: expected whole 3073-byte records, found 3173 bytes (100 left over: truncated?)");
  fs::remove(dir.file("data_batch_3.bin"));
  CHECK_ERROR(load_cifar10(dir.path.string(), true), "data_batch_3.bin does not exist");
}

TEST_CASE("image folders: classes from directories, images resized and center-cropped") {
  test::TempDir dir("data");
  for (const char* cls : {"cat", "dog"}) fs::create_directories(dir.path / cls);
  // A 20 × 10 red/blue image: left half red, right half blue.
  std::vector<uint8_t> rgb(20 * 10 * 3, 0);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 20; ++x) rgb[(y * 20 + x) * 3 + (x < 10 ? 0 : 2)] = 255;
  stbi_write_png(dir.file("cat/a.png").c_str(), 20, 10, 3, rgb.data(), 20 * 3);
  stbi_write_png(dir.file("dog/b.png").c_str(), 20, 10, 3, rgb.data(), 20 * 3);
  stbi_write_png(dir.file("dog/c.png").c_str(), 20, 10, 3, rgb.data(), 20 * 3);
  const ImageDataset d = load_image_folder(dir.path.string(), 8);
  CHECK(d.size() == 3);
  CHECK(d.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(d.labels == std::vector<int64_t>{0, 1, 1});
  CHECK(d.height == 8);
  CHECK(d.channels == 3);
  // Resized to 16 × 8, cropped to the central 8 × 8: columns 0-3 red, 4-7 blue.
  CHECK(d.pixels[0 * 64 + 0] > 200);        // red channel, left
  CHECK(d.pixels[0 * 64 + 7] < 50);         // red channel, right
  CHECK(d.pixels[2 * 64 + 7] > 200);        // blue channel, right
  std::ofstream(dir.file("dog/broken.png")) << "not a png";
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "broken.png: not a PNG file (its first bytes are not the format's signature)");
  CHECK_ERROR(load_image_folder(dir.file("none"), 8), "is not a directory");
  CHECK_ERROR(load_dataset("mnist", true), "data: expected \"fashion-mnist\", \"cifar10:DIR\" or \"folder:DIR\", found \"mnist\"");
}

TEST_CASE("the loader shuffles per epoch from the seed, augments deterministically and covers every sample") {
  test::TempDir dir("data");
  write_idx(dir.file("img"), dir.file("lab"), 50, 6, 6, false);
  const ImageDataset d = load_idx(dir.file("img"), dir.file("lab"), 3);
  Transform t;
  t.random_crop = true;
  t.pad = 2;
  t.horizontal_flip = true;
  auto epoch_of = [&](uint64_t seed, int64_t epoch, int prefetch) {
    DataLoader loader(d, 8, true, false, t, seed, prefetch);
    loader.start_epoch(epoch);
    std::vector<float> pixels;
    std::vector<int64_t> labels;
    Batch b;
    int batches = 0;
    while (loader.next(b)) {
      ++batches;
      for (float v : b.images.to_vector<float>()) pixels.push_back(v);
      for (int64_t l : b.labels.to_vector<int64_t>()) labels.push_back(l);
    }
    CHECK(batches == 7);  // 50 / 8 rounded up, drop_last = false
    return std::make_pair(pixels, labels);
  };
  const auto a = epoch_of(1, 0, 2), b = epoch_of(1, 0, 1), c = epoch_of(1, 1, 2), e = epoch_of(2, 0, 2);
  CHECK(a == b);              // the same seed and epoch give the same data, whatever the prefetch depth
  CHECK(a.second != c.second);  // a new epoch reshuffles
  CHECK(a.second != e.second);  // so does a new seed
  std::multiset<int64_t> all(a.second.begin(), a.second.end());
  CHECK(all.count(0) == 17);  // every sample once: labels i % 3 for i < 50
  CHECK(all.count(2) == 16);

  DataLoader drop(d, 8, false, true, Transform{}, 0);
  CHECK(drop.batches_per_epoch() == 6);
  drop.start_epoch(0);
  Batch first;
  REQUIRE(drop.next(first));
  CHECK(to_string(first.images.shape()) == "[8, 1, 6, 6]");
  CHECK(first.images.at<float>({1, 0, 0, 0}) == doctest::Approx(1.0 / 255));  // no shuffle, no transform: pixel / 255
  drop.start_epoch(1);  // restarting mid-epoch stops the old producer cleanly
  CHECK(drop.next(first));
}

TEST_CASE("select_classes keeps the listed classes, relabeled in the order given, with their names") {
  ImageDataset d;
  d.channels = d.height = d.width = 1;
  d.num_classes = 4;
  d.class_names = {"a", "b", "c", "d"};
  for (int i = 0; i < 8; ++i) {
    d.pixels.push_back(static_cast<uint8_t>(i));
    d.labels.push_back(i % 4);
  }
  const ImageDataset part = select_classes(d, {3, 1});
  CHECK(part.num_classes == 2);
  CHECK(part.class_names == std::vector<std::string>{"d", "b"});
  CHECK(part.pixels == std::vector<uint8_t>{1, 3, 5, 7});
  CHECK(part.labels == std::vector<int64_t>{1, 0, 1, 0});
  CHECK_ERROR(select_classes(d, {4}), "select_classes: class 4 is not one of the data set's 4 classes");
  CHECK_ERROR(select_classes(d, {1, 1}), "select_classes: class 1 is listed twice");
}

TEST_CASE("a JPEG whose Huffman table declares more than 256 codes is refused before stb decodes it") {
  // fuzz_image's finding: Debian's stb_image writes past its 257-entry table for such a table.
  test::TempDir dir("jpeg");
  const std::string bytes("\xff\xd8\xff\xc4\xdb\xdb\x01\x00\x91\x85\x91\x7f\xfd\xe1\x4d\xdb\xdb\xd3\xdb\xdb\xdb\xdb\xff\xd4", 24);
  fs::create_directories(dir.file("c"));
  test::write_bytes(dir.file("c/x.jpg"), bytes);
  CHECK_ERROR(load_image_folder(dir.path.string(), 8), "x.jpg: JPEG Huffman table at byte offset 6 declares 2885 codes (at most 256)");
}
