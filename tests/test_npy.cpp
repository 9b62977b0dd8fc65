// .npy: round trips, files written by numpy, and malformed files rejected with the file name
// and byte offset.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(MINIDL_SOURCE_DIR) + "/tests/fixtures/core/";




// A valid float32 [2, 3] file's bytes, to corrupt.
std::string valid_file(const test::TempDir& dir) {
  save_npy(dir.file("valid.npy"), arange(6).reshape({2, 3}));
  return test::read_bytes(dir.file("valid.npy"));
}

void replace(std::string& s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("npy round trips every dtype and rank") {
  test::TempDir dir("npy");
  const std::vector<Tensor> tensors = {randn({2, 3, 4}), randn({5}, kFloat64), from_vector<int32_t>({1, -2, 3}, {3, 1}),
                                       from_vector<int64_t>({1LL << 40, -7}), scalar_tensor(1.25), zeros({0, 3})};
  for (const Tensor& t : tensors) {
    CAPTURE(to_string(t.shape()));
    save_npy(dir.file("t.npy"), t);
    Tensor back = load_npy(dir.file("t.npy"));
    CHECK(back.dtype() == t.dtype());
    CHECK(to_string(back.shape()) == to_string(t.shape()));
    CHECK(back.to_vector<double>() == t.to_vector<double>());
    // The header keeps the data 64-byte aligned, as numpy writes it.
    CHECK((test::read_bytes(dir.file("t.npy")).size() - t.nbytes()) % 64 == 0);
  }
  CHECK(!fs::exists(dir.file("t.npy.tmp." + std::to_string(::getpid()))));
}

TEST_CASE("npy reads what numpy writes: versions 1.0, 2.0 and 3.0") {
  Tensor v2 = load_npy(kFixtures + "v2_int64.npy");
  CHECK(v2.dtype() == kInt64);
  test::check_values(v2, {2, 3}, {-3, -2, -1, 0, 1, 2}, 0);
  test::check_values(load_npy(kFixtures + "v3_float64.npy"), {5}, {0, 0.25, 0.5, 0.75, 1}, 0);
  test::check_values(load_npy(kFixtures + "int32.npy"), {1, 2}, {7, -8}, 0);
  test::check_values(load_npy(kFixtures + "scalar.npy"), {}, {2.5}, 0);
  const Tensor pixels = load_npy(kFixtures + "uint8.npy");  // raw pixels, widened to int32
  CHECK(pixels.dtype() == kInt32);
  test::check_values(pixels, {1, 3}, {0, 7, 255}, 0);
}

TEST_CASE("npy rejects malformed files, naming the file and the byte offset") {
  test::TempDir dir("npy");
  const std::string good = valid_file(dir);
  const std::string bad = dir.file("bad.npy");
  auto load_bytes = [&](const std::string& bytes) {
    test::write_bytes(bad, bytes);
    return load_npy(bad);
  };

  CHECK_ERROR(load_npy(dir.file("missing.npy")), "load_npy: cannot open " + dir.file("missing.npy"));
  CHECK_ERROR(load_bytes("PK\x03\x04 not numpy"), bad + ": not a .npy file (expected the magic \"\\x93NUMPY\" at byte offset 0)");
  CHECK_ERROR(load_bytes(good.substr(0, 9)), "truncated: expected the header length at byte offset 8");
  CHECK_ERROR(load_bytes(good.substr(0, 40)), "truncated header: expected 118 bytes at byte offset 10, found 30");
  CHECK_ERROR(load_bytes(good.substr(0, good.size() - 4)),
              "truncated data: shape [2, 3] needs 24 bytes from byte offset 128, found 20");
  CHECK_ERROR(load_bytes(good + "xxxx"), "size disagrees with shape [2, 3]: expected 24 bytes of data from byte offset 128, found 28");

  std::string version = good;
  version[6] = 9;
  CHECK_ERROR(load_bytes(version), "unsupported format version 9.0 at byte offset 6");
  // The good file with one piece of its header replaced, and the error that must name it.
  struct Edit {
    const char *from, *to, *error;
  };
  for (const Edit& e : {Edit{"'<f4'", "'|b1'", "unsupported dtype '|b1' (expected little-endian '<f4', '<f8', '<i4', '<i8' or '|u1')"},
                        Edit{"'<f4'", "'|u1'", "size disagrees with shape [2, 3]: expected 6 bytes of data"},
                        Edit{"'<f4'", "'>f4'", "unsupported dtype '>f4'"},
                        Edit{"False", "True ", "Fortran-order arrays are not supported"},
                        Edit{"(2, 3)", "(2, 4)", "truncated data: shape [2, 4] needs 32 bytes"},
                        Edit{"'shape': (", "'shape': [", "malformed header: expected '(' at byte offset 60"},
                        Edit{"'descr'", "'dtype'", "malformed header: unknown key 'dtype'"}}) {
    std::string edited = good;
    replace(edited, e.from, e.to);
    CHECK_ERROR(load_bytes(edited), e.error);
  }
}

TEST_CASE("npy shapes whose sizes overflow are refused before any allocation") {
  test::TempDir dir("npy");
  const std::string path = dir.file("huge.npy");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (562949953421312, 32768), }";
  header += std::string(118 - header.size() - 1, ' ') + "\n";
  test::write_bytes(path, std::string("\x93NUMPY\x01\x00", 8) + std::string(1, char(118)) + std::string(1, '\0') + header);
  CHECK_ERROR(load_npy(path), "load_npy: " + path + ": shape [562949953421312, 32768]");
  CHECK_ERROR(load_npy(path), "does not fit in 64 bits");
  CHECK_ERROR(numel({int64_t(1) << 32, int64_t(1) << 32}), "numel: shape [4294967296, 4294967296] has more than 2^63 elements");
}

TEST_CASE("save_npy never leaves a partial file in place of a good one") {
  test::TempDir dir("npy");
  const std::string path = dir.file("keep.npy");
  save_npy(path, arange(4));
  const std::string before = test::read_bytes(path);
  // A write that cannot start (the temporary file's directory is missing) leaves the old file.
  CHECK_ERROR(save_npy(dir.file("no/such/dir.npy"), arange(4)), "save_npy: cannot create");
  CHECK_ERROR(save_npy(path, Tensor()), "save_npy: " + path + ": expected a defined tensor");
  CHECK(test::read_bytes(path) == before);
  // Overwriting replaces the file whole.
  save_npy(path, arange(8, kFloat64));
  CHECK(load_npy(path).numel() == 8);
}
