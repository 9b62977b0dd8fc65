// .npy reader and writer. Format (numpy.lib.format): "\x93NUMPY", major, minor version bytes,
// header length (uint16 in 1.0, uint32 in 2.0/3.0, little-endian), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded so the data is aligned,
// then the raw elements.
#include "npy.h"

#include "kernels.h"

#include "atomic_file.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace minidl {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct DescrInfo {
  const char* descr;
  DType dtype;
};
constexpr DescrInfo kDescrs[] = {{"<f4", kFloat32}, {"<f8", kFloat64}, {"<i4", kInt32}, {"<i8", kInt64}};

// A cursor over the header dict that reports errors with the byte offset in the file.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text, size_t file_offset)
      : path_(path), text_(text), base_(file_offset) {}

  [[noreturn]] void fail(const std::string& what) const {
    MINIDL_FAIL("load_npy: ", path_, ": ", what, " at byte offset ", base_ + pos_);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("malformed header: expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("malformed header: expected a quoted string");
    const char q = text_[pos_++];
    const size_t end = text_.find(q, pos_);
    if (end == std::string::npos) fail("malformed header: unterminated string");
    std::string s = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.compare(pos_, std::strlen(word), word) == 0) { pos_ += std::strlen(word); return value; }
    }
    fail("malformed header: expected True or False");
  }
  Shape shape() {
    Shape s;
    expect('(');
    while (!accept(')')) {
      skip_space();
      const size_t start = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == start || pos_ - start > 15) fail("malformed header: expected a dimension size");
      s.push_back(std::stoll(text_.substr(start, pos_ - start)));
      if (!accept(',')) { expect(')'); break; }
    }
    return s;
  }

 private:
  const std::string& path_;
  const std::string& text_;
  size_t base_;
  size_t pos_ = 0;
};

struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  bool has_descr = false, has_order = false, has_shape = false;
};

Header parse_header(const std::string& path, const std::string& text, size_t offset) {
  HeaderParser p(path, text, offset);
  Header h;
  p.expect('{');
  while (!p.accept('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr") { h.descr = p.quoted(); h.has_descr = true; }
    else if (key == "fortran_order") { h.fortran_order = p.boolean(); h.has_order = true; }
    else if (key == "shape") { h.shape = p.shape(); h.has_shape = true; }
    else p.fail("malformed header: unknown key '" + key + "'");
    if (!p.accept(',')) { p.expect('}'); break; }
  }
  if (!h.has_descr || !h.has_order || !h.has_shape) p.fail("malformed header: expected keys 'descr', 'fortran_order' and 'shape'");
  return h;
}

uint32_t read_le(const std::string& bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return v;
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MINIDL_CHECK(in, "load_npy: cannot open ", path, ": ", std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MINIDL_CHECK(!in.bad(), "load_npy: ", path, ": read error");

  MINIDL_CHECK(bytes.size() >= kMagicSize && bytes.compare(0, kMagicSize, kMagic, kMagicSize) == 0, "load_npy: ", path,
               ": not a .npy file (expected the magic \"\\x93NUMPY\" at byte offset 0)");
  MINIDL_CHECK(bytes.size() >= kMagicSize + 2, "load_npy: ", path, ": truncated: expected a version at byte offset 6, found end of file");
  const int major = static_cast<unsigned char>(bytes[6]);
  MINIDL_CHECK(major >= 1 && major <= 3, "load_npy: ", path, ": unsupported format version ", major, ".",
               static_cast<int>(static_cast<unsigned char>(bytes[7])), " at byte offset 6 (expected 1.0, 2.0 or 3.0)");
  const size_t len_width = major == 1 ? 2 : 4, header_at = 8 + len_width;
  MINIDL_CHECK(bytes.size() >= header_at, "load_npy: ", path, ": truncated: expected the header length at byte offset 8, found end of file");
  const size_t header_len = read_le(bytes, 8, len_width);
  MINIDL_CHECK(bytes.size() >= header_at + header_len, "load_npy: ", path, ": truncated header: expected ", header_len,
               " bytes at byte offset ", header_at, ", found ", bytes.size() - header_at);

  const Header h = parse_header(path, bytes.substr(header_at, header_len), header_at);
  MINIDL_CHECK(!h.fortran_order, "load_npy: ", path, ": Fortran-order arrays are not supported (expected fortran_order False; ",
               "save with numpy.ascontiguousarray)");
  // uint8 (raw pixels) has no DType of its own: its values are widened to int32.
  static constexpr DescrInfo kUInt8{"|u1", kInt32};
  const bool bytes_widened = h.descr == "|u1" || h.descr == "<u1";
  const DescrInfo* info = bytes_widened ? &kUInt8 : nullptr;
  for (const auto& d : kDescrs) if (h.descr == d.descr) info = &d;
  MINIDL_CHECK(info != nullptr, "load_npy: ", path, ": unsupported dtype '", h.descr,
               "' (expected little-endian '<f4', '<f8', '<i4', '<i8' or '|u1')");
  const int64_t stored_size = bytes_widened ? 1 : static_cast<int64_t>(element_size(info->dtype));

  const size_t data_at = header_at + header_len;
  const std::string what = "load_npy: " + path + ": shape " + to_string(h.shape);
  int64_t count = 1;
  for (int64_t s : h.shape) count = checked_mul(count, s, what);
  const size_t expected =
      static_cast<size_t>(checked_mul(count, stored_size, what + " in bytes"));
  const size_t found = bytes.size() - data_at;
  MINIDL_CHECK(found >= expected, "load_npy: ", path, ": truncated data: shape ", to_string(h.shape), " needs ", expected,
               " bytes from byte offset ", data_at, ", found ", found);
  MINIDL_CHECK(found == expected, "load_npy: ", path, ": size disagrees with shape ", to_string(h.shape), ": expected ",
               expected, " bytes of data from byte offset ", data_at, ", found ", found);

  Tensor t = Tensor::empty(h.shape, info->dtype);
  if (bytes_widened) {
    int32_t* out = t.data<int32_t>();
    for (size_t i = 0; i < expected; ++i) out[i] = static_cast<uint8_t>(bytes[data_at + i]);
  } else if (expected > 0) {
    std::memcpy(t.raw_data(), bytes.data() + data_at, expected);
  }
  return t;
}

void save_npy(const std::string& path, const Tensor& given) {
  MINIDL_CHECK(given.defined(), "save_npy: ", path, ": expected a defined tensor");
  const Tensor tensor = given.device_copy(Device::cpu());  // a GPU tensor is written from a host copy
  const char* descr = nullptr;
  for (const auto& d : kDescrs) if (d.dtype == tensor.dtype()) descr = d.descr;

  std::string shape = "(";
  for (int64_t s : tensor.shape()) shape += std::to_string(s) + ", ";
  if (tensor.dim() > 1) shape.resize(shape.size() - 2);    // "(2, 3)"
  else if (tensor.dim() == 1) shape.resize(shape.size() - 1);  // "(3,)"
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  const size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  MINIDL_CHECK(header.size() <= 0xffff, "save_npy: ", path, ": header too long for format 1.0");

  write_file_atomically(path, "save_npy", [&](std::ostream& out) {
    const char version_and_len[4] = {1, 0, static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
    out.write(kMagic, kMagicSize);
    out.write(version_and_len, 4);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(tensor.raw_data()), static_cast<std::streamsize>(tensor.nbytes()));
  });
}

}  // namespace minidl
