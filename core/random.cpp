#include "random.h"

#include <cmath>

namespace minidl {

uint64_t Generator::at(uint64_t position) const {
  // SplitMix64 (Steele, Lea & Flood 2014): a bijective mix of seed + position * golden ratio.
  uint64_t z = seed_ + (position + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Generator::uniform_at(uint64_t position) const {
  return static_cast<double>(at(position) >> 11) * 0x1.0p-53;
}

double Generator::normal_at(uint64_t position) const {
  // u1 in (0, 1] so that log(u1) is finite.
  const double u1 = 1.0 - uniform_at(position);
  const double u2 = uniform_at(position + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace minidl
