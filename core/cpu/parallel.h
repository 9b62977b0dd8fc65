// What the CPU kernels share about threads.
#pragma once

#include <cstdint>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
