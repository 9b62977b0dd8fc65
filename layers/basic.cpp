#include "basic.h"

#include <cmath>
#include <cstdio>

namespace minidl {

Dropout::Dropout(double p_) : p(p_) {
  MINIDL_CHECK(std::isfinite(p) && p >= 0 && p <= 1, "Dropout: expected a probability p in [0, 1], found ", p);
}

std::string Dropout::extra_repr() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p=%g", p);
  return buf;
}

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, m] : children()) y = (*m)(y);
  return y;
}

}  // namespace minidl
