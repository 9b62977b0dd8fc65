// Generator: a seedable random source that gives the same numbers on every machine.
// It is counter-based (SplitMix64 of seed and position), so value i never depends on
// the thread count or on how the tensor is cut into chunks.
#pragma once

#include <cstdint>

namespace minidl {

class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) { manual_seed(seed); }
  static constexpr uint64_t kDefaultSeed = 0x5eed;

  /// Restarts the sequence: the same seed gives the same numbers.
  void manual_seed(uint64_t seed) { seed_ = seed; counter_ = 0; }
  uint64_t seed() const { return seed_; }
  /// Position in the sequence (how many 64-bit words were drawn).
  uint64_t offset() const { return counter_; }
  /// Reserves `n` words and returns the position of the first; fill word i with `at(first + i)`.
  uint64_t advance(uint64_t n) { uint64_t first = counter_; counter_ += n; return first; }

  /// The 64-bit word at a position of this sequence.
  uint64_t at(uint64_t position) const;
  /// Uniform double in [0, 1) from word `position` (53 random bits).
  double uniform_at(uint64_t position) const;
  /// Standard normal from words `position` and `position + 1` (Box–Muller, cosine branch).
  double normal_at(uint64_t position) const;

 private:
  uint64_t seed_ = kDefaultSeed;
  uint64_t counter_ = 0;
};

/// The generator factories use when none is given.
Generator& default_generator();
/// Reseeds the default generator: manual_seed(0) then randn(...) is reproducible.
void manual_seed(uint64_t seed);

}  // namespace minidl
