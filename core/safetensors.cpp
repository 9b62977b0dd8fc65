#include "safetensors.h"

#include <cstdint>

#include "kernels.h"

#include "atomic_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace minidl {
namespace {

using json = nlohmann::ordered_json;
constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit: 100 MB of JSON

// IEEE half and bfloat16 to float.
float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) {  // subnormal: renormalize
    int e = -1;
    uint32_t m = mant;
    do { m <<= 1; ++e; } while (!(m & 0x400));
    bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct FileDType {
  const char* name;
  size_t bytes;
  DType loads_as;
};
constexpr FileDType kDTypes[] = {{"F32", 4, kFloat32}, {"F64", 8, kFloat64}, {"I64", 8, kInt64},
                                 {"I32", 4, kInt32},   {"F16", 2, kFloat32}, {"BF16", 2, kFloat32}};

const char* file_dtype(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Int32: return "I32";
  }
  return "?";
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MINIDL_CHECK(in, "load_safetensors: cannot open ", path, ": ", std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MINIDL_CHECK(bytes.size() >= 8, "load_safetensors: ", path, ": truncated: expected an 8-byte header length at byte offset 0, found ",
               bytes.size(), " bytes");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  MINIDL_CHECK(header_len <= kMaxHeader && header_len <= bytes.size() - 8, "load_safetensors: ", path,
               ": header length ", header_len, " at byte offset 0 exceeds the file (", bytes.size(),
               " bytes) or the 100 MB limit: not a safetensors file, or a corrupt one");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const json::exception& e) {
    MINIDL_FAIL("load_safetensors: ", path, ": corrupt JSON header at byte offset 8: ", e.what());
  }
  MINIDL_CHECK(header.is_object(), "load_safetensors: ", path, ": the header at byte offset 8 is not a JSON object");

  const uint64_t data_at = 8 + header_len, data_size = bytes.size() - data_at;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  std::vector<std::string> span_names;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      MINIDL_CHECK(entry.is_object(), "load_safetensors: ", path, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) file.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    const std::string where = "load_safetensors: " + path + ": tensor '" + name + "'";
    MINIDL_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets") &&
                     entry["dtype"].is_string() && entry["shape"].is_array() && entry["data_offsets"].is_array() &&
                     entry["data_offsets"].size() == 2,
                 where, ": expected {\"dtype\", \"shape\", \"data_offsets\": [begin, end]}, found ", entry.dump());
    const std::string dtype = entry["dtype"].get<std::string>();
    const FileDType* fd = nullptr;
    for (const auto& d : kDTypes)
      if (dtype == d.name) fd = &d;
    MINIDL_CHECK(fd != nullptr, where, ": unsupported dtype ", dtype, " (expected F32, F64, F16, BF16, I64 or I32)");
    Shape shape;
    for (const auto& s : entry["shape"]) {
      MINIDL_CHECK(s.is_number_unsigned() && s.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), where, ": shape ",
                   entry["shape"].dump(), " is not a list of sizes below 2^63");
      shape.push_back(s.get<int64_t>());
    }
    const auto& offs = entry["data_offsets"];
    MINIDL_CHECK(offs[0].is_number_unsigned() && offs[1].is_number_unsigned(), where, ": bad data_offsets ", offs.dump());
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    MINIDL_CHECK(begin <= end && end <= data_size, where, ": data_offsets [", begin, ", ", end,
                 "] fall outside the ", data_size, " data bytes that start at byte offset ", data_at);
    const std::string what = where + ": shape " + to_string(shape);
    int64_t count = 1;
    for (int64_t s : shape) count = checked_mul(count, s, what);
    const uint64_t expected = static_cast<uint64_t>(checked_mul(count, static_cast<int64_t>(fd->bytes), what + " in bytes"));
    MINIDL_CHECK(end - begin == expected, where, ": shape ", to_string(shape), " of ", dtype, " needs ", expected,
                 " bytes, data_offsets hold ", end - begin);
    spans.emplace_back(begin, end);
    span_names.push_back(name);

    Tensor t = Tensor::empty(shape, fd->loads_as);
    const char* src = bytes.data() + data_at + begin;
    if (dtype == "F16" || dtype == "BF16") {
      float* dst = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = dtype == "F16" ? half_to_float(h) : bfloat16_to_float(h);
      }
    } else if (expected > 0) {
      std::memcpy(t.raw_data(), src, expected);
    }
    file.tensors.emplace_back(name, t);
  }
  // Tensors may not share bytes.
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return spans[a] < spans[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = spans[order[i - 1]];
    const auto& cur = spans[order[i]];
    MINIDL_CHECK(cur.first >= prev.second || cur.first == cur.second || prev.first == prev.second, "load_safetensors: ",
                 path, ": tensors '", span_names[order[i - 1]], "' and '", span_names[order[i]], "' overlap");
  }
  return file;
}

void save_safetensors(const std::string& path, const NamedTensors& given,
                      const std::map<std::string, std::string>& metadata) {
  NamedTensors tensors;  // GPU tensors are written from host copies
  for (const auto& [name, t] : given) tensors.emplace_back(name, t.defined() ? t.device_copy(Device::cpu()) : t);
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    MINIDL_CHECK(t.defined(), "save_safetensors: ", path, ": tensor '", name, "' is undefined");
    MINIDL_CHECK(name != "__metadata__" && !header.contains(name), "save_safetensors: ", path, ": duplicate tensor name '",
                 name, "'");
    header[name] = {{"dtype", file_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  write_file_atomically(path, "save_safetensors", [&](std::ostream& out) {
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors) out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
  });
}

}  // namespace minidl
