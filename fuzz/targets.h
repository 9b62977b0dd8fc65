// The fuzz targets' entry points, one per parser of files a user hands minidl: each writes the
// input where its loader reads it and runs the loader. A minidl::Error is the expected answer to
// bad bytes; anything else — a crash, a sanitizer report, another exception, a hang — is a
// finding. fuzz/fuzz_main.cpp wraps each in libFuzzer (make fuzz); tests/test_fuzz_regressions.cpp
// replays the committed seeds and every past finding through the same functions (make test).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <minidl/minidl.h>

namespace minidl::fuzz {

/// A scratch directory of this process (in memory where /dev/shm exists).
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    const std::filesystem::path d = base / ("minidl_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string put(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path path = scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                               static_cast<std::streamsize>(size));
  return path.string();
}

template <typename F>
void expect_error_or_success(F load) {
  try {
    load();
  } catch (const Error&) {
  }
}

inline void npy(const uint8_t* data, size_t size) {
  const std::string path = put("x.npy", data, size);
  expect_error_or_success([&] { load_npy(path); });
}

inline void safetensors(const uint8_t* data, size_t size) {
  const std::string path = put("x.safetensors", data, size);
  expect_error_or_success([&] { load_safetensors(path); });
}

// The input is an IDX images file; its labels are one valid file of one label.
inline void idx_images(const uint8_t* data, size_t size, const char* name) {
  const std::string images = put(name, data, size);
  static const uint8_t one_label[] = {0, 0, 8, 1, 0, 0, 0, 1, 0};
  const std::string labels = put("labels", one_label, sizeof one_label);
  expect_error_or_success([&] { load_idx(images, labels); });
}
inline void idx(const uint8_t* data, size_t size) { idx_images(data, size, "images"); }
/// The same bytes as a gzip stream (zlib inflates them, or refuses).
inline void idx_gz(const uint8_t* data, size_t size) { idx_images(data, size, "images.gz"); }

inline void cifar(const uint8_t* data, size_t size) {
  put("cifar/test_batch.bin", data, size);
  expect_error_or_success([&] { load_cifar10((scratch() / "cifar").string(), /*train=*/false); });
}

// An image folder of one class and one file; the first byte picks the extension (PNG or JPEG).
inline void image(const uint8_t* data, size_t size) {
  const std::filesystem::path root = scratch() / "folder";
  std::filesystem::remove_all(root);
  const bool jpeg = size > 0 && (data[0] & 1);
  put(std::string("folder/c/x") + (jpeg ? ".jpg" : ".png"), size > 0 ? data + 1 : data, size > 0 ? size - 1 : 0);
  expect_error_or_success([&] { load_image_folder(root.string(), 16); });
}

}  // namespace minidl::fuzz
