// safetensors: round trips, reading what another writer wrote, conversions, malformed files.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {




// A file with the given JSON header and data bytes.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

}  // namespace

TEST_CASE("safetensors round trips tensors and metadata, in order") {
  test::TempDir dir("safetensors");
  const NamedTensors tensors = {{"conv1.weight", randn({4, 3, 3, 3})}, {"bn1.num_batches_tracked", from_vector<int64_t>({7}).reshape({})},
                                {"fc.bias", randn({10}, kFloat64)}, {"labels", from_vector<int32_t>({1, 2})}, {"empty", zeros({0, 5})}};
  save_safetensors(dir.file("m.safetensors"), tensors, {{"arch", "resnet20"}, {"norm", "gn"}});
  const SafetensorsFile f = load_safetensors(dir.file("m.safetensors"));
  REQUIRE(f.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CHECK(f.tensors[i].first == tensors[i].first);
    CHECK(f.tensors[i].second.dtype() == tensors[i].second.dtype());
    CHECK(to_string(f.tensors[i].second.shape()) == to_string(tensors[i].second.shape()));
    CHECK(f.tensors[i].second.to_vector<double>() == tensors[i].second.to_vector<double>());
  }
  CHECK(f.metadata.at("arch") == "resnet20");
  CHECK(static_cast<unsigned char>(test::read_bytes(dir.file("m.safetensors"))[0]) % 8 == 0);  // data 8-byte aligned
}

TEST_CASE("safetensors reads F16 and BF16 as float32") {
  test::TempDir dir("safetensors");
  // 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal half) as F16; 1.0, -3.0 as BF16.
  const std::string f16("\x00\x3c\x00\xc1\xff\x7b\x01\x00", 8), bf16("\x80\x3f\x40\xc0", 4);
  test::write_bytes(dir.file("h.safetensors"),
              make_file(R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})",
                        f16 + bf16));
  const SafetensorsFile f = load_safetensors(dir.file("h.safetensors"));
  test::check_values(f.tensors[0].second, {4}, {1.0, -2.5, 65504.0, std::ldexp(1.0, -24)}, 0);
  test::check_values(f.tensors[1].second, {2}, {1.0, -3.0}, 0);
  CHECK(f.tensors[0].second.dtype() == kFloat32);
}

TEST_CASE("safetensors rejects malformed files, naming the file") {
  test::TempDir dir("safetensors");
  const std::string path = dir.file("bad.safetensors");
  auto load_bytes = [&](const std::string& bytes) {
    test::write_bytes(path, bytes);
    return load_safetensors(path);
  };
  const std::string data(16, '\0');
  CHECK_ERROR(load_safetensors(dir.file("missing.safetensors")), "load_safetensors: cannot open");
  CHECK_ERROR(load_bytes("abc"), ": truncated: expected an 8-byte header length at byte offset 0, found 3 bytes");
  CHECK_ERROR(load_bytes(std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}"), "exceeds the file");
  CHECK_ERROR(load_bytes(make_file("{\"a\": [1,", data)), "corrupt JSON header at byte offset 8");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", data)),
              "tensor 'a': unsupported dtype U8 (expected F32, F64, F16, BF16, I64 or I32)");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", data)),
              "tensor 'a': data_offsets [0, 32] fall outside the 16 data bytes");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data)),
              "tensor 'a': shape [3] of F32 needs 12 bytes, data_offsets hold 16");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data)),
              "tensors 'a' and 'b' overlap");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", data)), "is not a list of sizes");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32"}})", data)), "tensor 'a': expected {\"dtype\", \"shape\", \"data_offsets\"");
  // Sizes whose product wraps to 0 in 64 bits, with empty data: refused, not a 2^64-element tensor.
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", data)),
              "tensor 'a': shape [4294967296, 4294967296]: 4294967296 × 4294967296 does not fit in 64 bits");
  CHECK_ERROR(load_bytes(make_file(R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,0]}})", data)),
              "is not a list of sizes below 2^63");
}

TEST_CASE("save_safetensors replaces a file whole or not at all") {
  test::TempDir dir("safetensors");
  const std::string path = dir.file("ckpt.safetensors");
  save_safetensors(path, {{"w", ones({3})}});
  const std::string before = test::read_bytes(path);
  CHECK_ERROR(save_safetensors(path, {{"w", ones({3})}, {"w", ones({2})}}), "duplicate tensor name 'w'");
  CHECK_ERROR(save_safetensors(dir.file("no/dir/x.safetensors"), {{"w", ones({3})}}), "save_safetensors: cannot create");
  CHECK(test::read_bytes(path) == before);
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(entry.path().string().find(".tmp.") == std::string::npos);
}
