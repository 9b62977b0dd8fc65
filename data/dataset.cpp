#include "dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "../core/error.h"
#include "../core/shape.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

namespace minidl {
namespace fs = std::filesystem;

namespace {

// The whole file (CIFAR-10's batches are plain binaries of fixed-size records).
std::string read_file(const std::string& path, const char* who) {
  MINIDL_CHECK(fs::exists(path), who, ": ", path, " does not exist");
  std::ifstream in(path, std::ios::binary);
  MINIDL_CHECK(in, who, ": cannot open ", path, ": ", std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

uint32_t big_endian32(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

// Up to `limit` more bytes of an open zlib stream (which reads plain files as they are).
std::string read_up_to(gzFile f, const std::string& path, size_t limit) {
  std::string out;
  char buf[1 << 16];
  while (out.size() < limit) {
    const int n = gzread(f, buf, static_cast<unsigned>(std::min(sizeof buf, limit - out.size())));
    if (n <= 0) {  // the end, or an error
      int err = Z_OK;
      const char* msg = gzerror(f, &err);
      MINIDL_CHECK(n == 0 && (err == Z_OK || err == Z_STREAM_END), "load_idx: ", path, ": corrupt gzip data (",
                   msg ? msg : "", ") after ", out.size(), " decompressed bytes");
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// An IDX file, plain or gzipped: magic, `rank` sizes, then their product of one-byte values.
// The header is read first and the sizes bounded, and no more than the values it declares (and
// one byte to notice extra data) is read or inflated: a small .gz that inflates to gigabytes is
// refused after its declared size.
struct Idx {
  std::vector<int64_t> sizes;
  std::string values;
};

Idx read_idx(const std::string& path, uint32_t magic, size_t rank) {
  MINIDL_CHECK(fs::exists(path), "load_idx: ", path, " does not exist");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  MINIDL_CHECK(f != nullptr, "load_idx: cannot open ", path);
  const size_t header = 4 + 4 * rank;
  const std::string head = read_up_to(f.get(), path, header);
  MINIDL_CHECK(head.size() == header, "load_idx: ", path, ": truncated: expected a ", header,
               "-byte header, found ", head.size(), " bytes");
  MINIDL_CHECK(big_endian32(head, 0) == magic, "load_idx: ", path, ": expected magic 0x0000080", magic & 0xf,
               " at byte offset 0, found 0x", std::hex, big_endian32(head, 0));
  Idx idx;
  int64_t total = 1;
  for (size_t i = 0; i < rank; ++i) {
    idx.sizes.push_back(big_endian32(head, 4 + 4 * i));
    total = checked_mul(total, idx.sizes.back(), "load_idx: " + path + ": the header's sizes");
  }
  // A data set in memory is bytes: more than 2^40 (1 TiB) of them is a corrupt header.
  MINIDL_CHECK(total <= (int64_t(1) << 40), "load_idx: ", path, ": the header declares ", total,
               " values (more than 2^40)");
  idx.values = read_up_to(f.get(), path, static_cast<size_t>(total) + 1);
  const size_t found = header + idx.values.size(), expected = header + static_cast<size_t>(total);
  MINIDL_CHECK(found <= expected, "load_idx: ", path, ": expected ", expected, " bytes for ", total,
               " values after the header, found more");
  MINIDL_CHECK(found == expected, "load_idx: ", path, ": expected ", expected, " bytes for ", total,
               " values after the header, found ", found, " (truncated)");
  return idx;
}

// Decoded images are bounded: 2^26 pixels (64 Mpixel, 192 MB as RGB) before and after the resize.
constexpr int64_t kMaxPixels = int64_t(1) << 26;

// A PNG's chunks lie inside the file: stb sizes its buffer from each IDAT chunk's declared length
// before reading it, so a 40-byte file declaring a 2 GB chunk would allocate 2 GB (found by
// fuzz_image). And the first IDAT chunk is not empty: stb then copies 0 bytes into its buffer
// before allocating it, memcpy(NULL, ..., 0), undefined behaviour (found by fuzz_image in CI).
void check_png_chunks(const fs::path& file) {
  const uint64_t size = fs::file_size(file);
  std::ifstream in(file, std::ios::binary);
  bool seen_idat = false;
  for (uint64_t at = 8; at + 8 <= size;) {
    std::string head(8, '\0');
    in.seekg(static_cast<std::streamoff>(at));
    in.read(head.data(), 8);
    const uint64_t length = big_endian32(head, 0), end = at + 12 + length;  // length, type, data, CRC
    MINIDL_CHECK(end <= size, "load_image: ", file.string(), ": PNG chunk '", head.substr(4, 4), "' at byte offset ",
                 at, " declares ", length, " bytes, past the end of the ", size, "-byte file");
    if (head.compare(4, 4, "IDAT") == 0) {
      MINIDL_CHECK(seen_idat || length > 0, "load_image: ", file.string(), ": the first PNG chunk 'IDAT' (at byte offset ",
                   at, ") is empty, which stb_image cannot read safely");
      seen_idat = true;
    }
    if (head.compare(4, 4, "IEND") == 0) break;
    at = end;
  }
}

// A JPEG's Huffman tables (DHT segments) declare at most 256 codes: Debian's stb_image (git
// 2022-09-08) writes past its 257-entry table for more (found by fuzz_image; upstream later added
// the check). Walks every marker segment to the end — DHT may follow a scan in progressive files;
// scan data holds no marker but FF00 and RSTn.
void check_jpeg_segments(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto at = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  size_t i = 2;  // after SOI
  while (i + 1 < bytes.size()) {
    if (at(i) != 0xFF) {  // scan data
      ++i;
      continue;
    }
    const uint8_t marker = at(i + 1);
    if (marker == 0x00 || marker == 0xFF || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {
      i += marker == 0xFF ? 1 : 2;  // stuffed byte, fill, RSTn, SOI, TEM: no length
      continue;
    }
    if (marker == 0xD9 || i + 4 > bytes.size()) return;  // EOI, or truncated: stb reports it
    const size_t length = (static_cast<size_t>(at(i + 2)) << 8) | at(i + 3), end = std::min(i + 2 + length, bytes.size());
    if (marker == 0xC4) {
      // Tables: a class/id byte, 16 counts, the values. stb reads bytes past the end of the file
      // as 0, so a table cut short counts what is there.
      for (size_t t = i + 4; t < end;) {
        size_t codes = 0;
        for (size_t k = 1; k <= 16 && t + k < bytes.size(); ++k) codes += at(t + k);
        MINIDL_CHECK(codes <= 256, "load_image: ", file.string(), ": JPEG Huffman table at byte offset ", t, " declares ",
                     codes, " codes (at most 256)");
        t += 17 + codes;
      }
    }
    i += 2 + length;
  }
}

// Before decoding: the bytes are the format the extension names (stb decodes any format it
// knows, whatever the name: TGA bytes in a .png), and the header's size is bounded — a small file
// can declare a huge image. Sets w and h from the header.
void check_image_header(const fs::path& file, int& w, int& h) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  MINIDL_CHECK(ext == ".png" || ext == ".jpg" || ext == ".jpeg", "load_image: ", file.string(),
               ": expected a .png, .jpg or .jpeg file");
  char magic[8] = {};
  std::ifstream(file, std::ios::binary).read(magic, sizeof magic);
  const bool png = std::memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0, jpeg = std::memcmp(magic, "\xff\xd8\xff", 3) == 0;
  MINIDL_CHECK(ext == ".png" ? png : jpeg, "load_image: ", file.string(), ": not a ", ext == ".png" ? "PNG" : "JPEG",
               " file (its first bytes are not the format's signature)");
  if (png) check_png_chunks(file);
  if (jpeg) check_jpeg_segments(file);
  int c = 0;
  MINIDL_CHECK(stbi_info(file.c_str(), &w, &h, &c) == 1, "load_image: ", file.string(), ": cannot read the header (",
               stbi_failure_reason(), ")");
  MINIDL_CHECK(w > 0 && h > 0 && static_cast<int64_t>(w) * h <= kMaxPixels, "load_image: ", file.string(),
               ": the header declares a ", w, "x", h, " image (expected at most 2^26 pixels)");
}

// Labels from index `first` on (those `path` added) lie in [0, num_classes).
void check_labels(const ImageDataset& d, const std::string& path, size_t first = 0) {
  for (size_t i = first; i < d.labels.size(); ++i)
    MINIDL_CHECK(d.labels[i] >= 0 && d.labels[i] < d.num_classes, path, ": label ", d.labels[i], " of sample ", i,
                 " is out of range for ", d.num_classes, " classes");
}

}  // namespace

ImageDataset ImageDataset::head(int64_t n) const {
  ImageDataset d = *this;
  n = std::clamp<int64_t>(n, 0, size());
  d.labels.resize(static_cast<size_t>(n));
  d.pixels.resize(static_cast<size_t>(n * image_bytes()));
  return d;
}

ImageDataset load_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes) {
  const Idx images = read_idx(images_path, 0x803, 3), labels = read_idx(labels_path, 0x801, 1);
  const std::vector<int64_t>&isz = images.sizes, &lsz = labels.sizes;
  MINIDL_CHECK(isz[0] == lsz[0], "load_idx: ", images_path, " holds ", isz[0], " images but ", labels_path, " holds ",
               lsz[0], " labels");
  ImageDataset d;
  d.name = fs::path(images_path).filename().string();
  d.channels = 1;
  d.height = isz[1];
  d.width = isz[2];
  d.num_classes = num_classes;
  d.pixels.assign(images.values.begin(), images.values.end());
  for (char label : labels.values) d.labels.push_back(static_cast<unsigned char>(label));
  check_labels(d, labels_path);
  return d;
}

ImageDataset load_fashion_mnist(bool train, const std::string& dir) {
  MINIDL_CHECK(fs::is_directory(dir), "load_fashion_mnist: ", dir,
               " is not a directory (install Debian's dataset-fashion-mnist, or pass the directory)");
  const std::string split = train ? "train" : "t10k";
  ImageDataset d = load_idx(dir + "/" + split + "-images-idx3-ubyte.gz", dir + "/" + split + "-labels-idx1-ubyte.gz");
  d.name = std::string("fashion-mnist/") + (train ? "train" : "test");
  d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return d;
}

ImageDataset load_cifar10(const std::string& dir, bool train) {
  MINIDL_CHECK(fs::is_directory(dir), "load_cifar10: ", dir, " is not a directory");
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  ImageDataset d;
  d.name = std::string("cifar10/") + (train ? "train" : "test");
  d.channels = 3;
  d.height = d.width = 32;
  d.num_classes = 10;
  d.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(dir + "/test_batch.bin");
  }
  for (const std::string& path : files) {
    const std::string bytes = read_file(path, "load_cifar10");
    const size_t first = d.labels.size();
    MINIDL_CHECK(!bytes.empty() && bytes.size() % kRecord == 0, "load_cifar10: ", path, ": expected whole ", kRecord,
                 "-byte records, found ", bytes.size(), " bytes (", bytes.size() % kRecord, " left over: truncated?)");
    for (size_t at = 0; at < bytes.size(); at += kRecord) {
      d.labels.push_back(static_cast<unsigned char>(bytes[at]));
      d.pixels.insert(d.pixels.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at) + 1,
                      bytes.begin() + static_cast<std::ptrdiff_t>(at + kRecord));
    }
    check_labels(d, path, first);
  }
  return d;
}

std::vector<uint8_t> load_image(const std::string& path, int64_t size, int64_t channels) {
  MINIDL_CHECK(size > 0 && size <= 4096, "load_image: expected an image size in 1..4096, found ", size);
  MINIDL_CHECK(channels == 1 || channels == 3, "load_image: expected 1 or 3 channels, found ", channels);
  MINIDL_CHECK(fs::is_regular_file(path), "load_image: no such file: ", path);
  int w = 0, h = 0, c = 0;
  check_image_header(path, w, h);
  // Shorter side to `size`, then the central size × size square.
  const double scale = static_cast<double>(size) / std::min(w, h);
  const int64_t rw = std::max<int64_t>(size, static_cast<int64_t>(w * scale + 0.5));
  const int64_t rh = std::max<int64_t>(size, static_cast<int64_t>(h * scale + 0.5));
  MINIDL_CHECK(rw * rh <= kMaxPixels, "load_image: ", path, ": a ", w, "x", h, " image resized to a shorter side of ", size,
               " would be ", rw, "x", rh, " pixels (more than 2^26)");
  const int ch = static_cast<int>(channels);
  stbi_uc* decoded = stbi_load(path.c_str(), &w, &h, &c, ch);  // stb converts to gray (luma) or RGB
  MINIDL_CHECK(decoded != nullptr, "load_image: ", path, ": cannot decode (", stbi_failure_reason(), ")");
  std::vector<uint8_t> resized(static_cast<size_t>(rw * rh * ch));
  const int ok = stbir_resize_uint8(decoded, w, h, 0, resized.data(), static_cast<int>(rw), static_cast<int>(rh), 0, ch);
  stbi_image_free(decoded);
  MINIDL_CHECK(ok, "load_image: ", path, ": resize failed");
  const int64_t x0 = (rw - size) / 2, y0 = (rh - size) / 2;
  std::vector<uint8_t> chw;
  chw.reserve(static_cast<size_t>(channels * size * size));
  for (int64_t k = 0; k < channels; ++k)  // interleaved to planar CHW
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) chw.push_back(resized[static_cast<size_t>(((y0 + y) * rw + x0 + x) * ch + k)]);
  return chw;
}

ImageDataset load_image_folder(const std::string& root, int64_t size) {
  MINIDL_CHECK(fs::is_directory(root), "load_image_folder: ", root, " is not a directory");
  MINIDL_CHECK(size > 0 && size <= 4096, "load_image_folder: expected an image size in 1..4096, found ", size);
  ImageDataset d;
  d.name = root;
  d.channels = 3;
  d.height = d.width = size;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) d.class_names.push_back(entry.path().filename().string());
  std::sort(d.class_names.begin(), d.class_names.end());
  MINIDL_CHECK(!d.class_names.empty(), "load_image_folder: ", root, " has no class subdirectories (expected root/<class>/*.png)");
  d.num_classes = static_cast<int64_t>(d.class_names.size());
  for (size_t label = 0; label < d.class_names.size(); ++label) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / d.class_names[label])) {
      std::string ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (entry.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::vector<uint8_t> chw = load_image(file.string(), size, 3);
      d.pixels.insert(d.pixels.end(), chw.begin(), chw.end());
      d.labels.push_back(static_cast<int64_t>(label));
    }
  }
  MINIDL_CHECK(d.size() > 0, "load_image_folder: ", root, " holds no .png or .jpg images");
  return d;
}

ImageDataset split_dataset(const ImageDataset& d, double f, bool test) {
  MINIDL_CHECK(f >= 0 && f < 1, "split_dataset: expected a test fraction in [0, 1), found ", f);
  ImageDataset part = d;
  part.pixels.clear();
  part.labels.clear();
  const size_t bytes = static_cast<size_t>(d.image_bytes());
  std::vector<int64_t> seen(static_cast<size_t>(d.num_classes), 0);
  for (size_t i = 0; i < d.labels.size(); ++i) {
    const int64_t k = seen[static_cast<size_t>(d.labels[i])]++;
    const bool in_test = std::floor(static_cast<double>(k + 1) * f) > std::floor(static_cast<double>(k) * f);
    if (in_test != test) continue;
    part.labels.push_back(d.labels[i]);
    part.pixels.insert(part.pixels.end(), d.pixels.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                       d.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes));
  }
  return part;
}

ImageDataset select_classes(const ImageDataset& d, const std::vector<int64_t>& classes) {
  MINIDL_CHECK(!classes.empty(), "select_classes: expected at least one class");
  std::vector<int64_t> label_of(static_cast<size_t>(d.num_classes), -1);
  for (size_t i = 0; i < classes.size(); ++i) {
    const int64_t c = classes[i];
    MINIDL_CHECK(c >= 0 && c < d.num_classes, "select_classes: class ", c, " is not one of the data set's ", d.num_classes,
                 " classes");
    MINIDL_CHECK(label_of[static_cast<size_t>(c)] < 0, "select_classes: class ", c, " is listed twice");
    label_of[static_cast<size_t>(c)] = static_cast<int64_t>(i);
  }
  ImageDataset part = d;
  part.pixels.clear();
  part.labels.clear();
  part.num_classes = static_cast<int64_t>(classes.size());
  part.class_names.clear();
  for (int64_t c : classes)
    if (static_cast<size_t>(c) < d.class_names.size()) part.class_names.push_back(d.class_names[static_cast<size_t>(c)]);
  if (part.class_names.size() != classes.size()) part.class_names.clear();
  const size_t bytes = static_cast<size_t>(d.image_bytes());
  for (size_t i = 0; i < d.labels.size(); ++i) {
    const int64_t label = label_of[static_cast<size_t>(d.labels[i])];
    if (label < 0) continue;
    part.labels.push_back(label);
    part.pixels.insert(part.pixels.end(), d.pixels.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                       d.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes));
  }
  return part;
}

ImageDataset load_dataset(const std::string& spec, bool train, int64_t image_size) {
  if (spec == "fashion-mnist") return load_fashion_mnist(train);
  if (spec.rfind("fashion-mnist:", 0) == 0) return load_fashion_mnist(train, spec.substr(14));
  if (spec.rfind("cifar10:", 0) == 0) return load_cifar10(spec.substr(8), train);
  if (spec.rfind("folder:", 0) == 0) {
    const std::string dir = spec.substr(7);
    const bool split = fs::is_directory(dir + "/train") && fs::is_directory(dir + "/test");
    return load_image_folder(split ? dir + (train ? "/train" : "/test") : dir, image_size);
  }
  MINIDL_FAIL("data: expected \"fashion-mnist\", \"cifar10:DIR\" or \"folder:DIR\", found \"", spec, "\"");
}

}  // namespace minidl
