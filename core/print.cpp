// Printing a tensor the way PyTorch does: one number format for the whole tensor, values
// padded to one width, nested brackets indented under "tensor(", and "..." past 1000 elements.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "tensor.h"

namespace minidl {
namespace {

constexpr int64_t kSummarizeAbove = 1000;  // elements; PyTorch's print threshold
constexpr int64_t kEdgeItems = 3;          // shown at each end of a summarized dim
constexpr int kLineWidth = 80;

struct Format {
  bool integral_values = true;  // every value is a whole number: print "3." (floats) or "3" (ints)
  bool scientific = false;
  bool is_int_dtype = false;
  int width = 1;

  std::string operator()(double v) const {
    char buf[64];
    if (is_int_dtype) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else if (!std::isfinite(v)) std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (scientific) std::snprintf(buf, sizeof buf, "%.4e", v);
    else if (integral_values) std::snprintf(buf, sizeof buf, "%.0f.", v);
    else std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
  }
};

// The indices printed along a dim of size n: all of them, or the edges around a "...".
std::vector<int64_t> shown(int64_t n, bool summarize) {
  std::vector<int64_t> idx;
  if (!summarize || n <= 2 * kEdgeItems) {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);  // the "..." marker
    for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

// The values that will be printed; PyTorch picks the number format from these alone.
void collect_shown(const double* data, const Shape& shape, size_t d, bool summarize, std::vector<double>& out) {
  const int64_t inner = numel(Shape(shape.begin() + d + 1, shape.end()));
  for (int64_t i : shown(shape[d], summarize)) {
    if (i < 0) continue;
    if (d + 1 == shape.size()) out.push_back(data[i]);
    else collect_shown(data + i * inner, shape, d + 1, summarize, out);
  }
}

Format choose_format(const std::vector<double>& v, DType dtype) {
  Format f;
  f.is_int_dtype = !is_floating(dtype);
  double max_abs = 0, min_abs = INFINITY;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (x != std::floor(x)) f.integral_values = false;
    max_abs = std::max(max_abs, std::abs(x));
    if (x != 0) min_abs = std::min(min_abs, std::abs(x));
  }
  if (!f.is_int_dtype && min_abs != INFINITY) {
    // PyTorch's rule: switch to e-notation when values span a large range.
    f.scientific = max_abs / min_abs > 1000 || max_abs > 1e8 || (!f.integral_values && min_abs < 1e-4);
  }
  for (double x : v) f.width = std::max<int>(f.width, static_cast<int>(f(x).size()));
  return f;
}

// The last dim: values padded to one width, wrapped at kLineWidth as PyTorch does.
void print_row(std::ostream& os, const double* data, int64_t n, const Format& f, int indent, bool summarize) {
  const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / (f.width + 2));
  const std::vector<int64_t> idx = shown(n, summarize);
  os << "[";
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) os << (k % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ");
    if (idx[k] < 0) { os << " ..."; continue; }
    const std::string s = f(data[idx[k]]);
    os << std::string(f.width - s.size(), ' ') << s;
  }
  os << "]";
}

// Dim d of the tensor at `data`; rows of higher dims are separated by blank lines, as in PyTorch.
void print_dim(std::ostream& os, const double* data, const Shape& shape, size_t d, const Format& f,
               int indent, bool summarize) {
  if (d + 1 == shape.size()) return print_row(os, data, shape[d], f, indent, summarize);
  const int64_t inner = numel(Shape(shape.begin() + d + 1, shape.end()));
  const std::vector<int64_t> idx = shown(shape[d], summarize);
  os << "[";
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) os << "," << std::string(shape.size() - d - 1, '\n') << std::string(indent + 1, ' ');
    if (idx[k] < 0) os << "...";
    else print_dim(os, data + idx[k] * inner, shape, d + 1, f, indent + 1, summarize);
  }
  os << "]";
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  const std::vector<double> values = t.to_vector<double>();
  const bool summarize = t.numel() > kSummarizeAbove;
  std::vector<double> printed;
  if (t.dim() == 0) printed = values;
  else if (t.numel() > 0) collect_shown(values.data(), t.shape(), 0, summarize, printed);
  const Format f = choose_format(printed, t.dtype());
  std::ostringstream body;
  if (t.numel() == 0) body << "[]";
  else if (t.dim() == 0) body << f(values[0]);
  else print_dim(body, values.data(), t.shape(), 0, f, 7, summarize);
  os << "tensor(" << body.str();
  if (t.numel() == 0 && t.dim() != 1) {
    const std::string sizes = to_string(t.shape());  // "[2, 0]" printed as PyTorch's "(2, 0)"
    os << ", size=(" << sizes.substr(1, sizes.size() - 2) << ")";
  }
  if (!t.device().is_cpu()) os << ", device='" << t.device() << "'";
  if (t.dtype() != kFloat32 && t.dtype() != kInt64) os << ", dtype=" << t.dtype();
  return os << ")";
}

}  // namespace minidl
