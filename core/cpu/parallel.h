// What the CPU kernels share about threads.
#pragma once

#include <cstdint>

namespace minidl::cpu {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

}  // namespace minidl::cpu
