// What the CPU kernels share about threads.
#pragma once

#include <omp.h>

#include <cstdint>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

/// The same for loops that only stream memory (elementwise ops, copies, the optimizers' updates):
/// a parallel region costs a wake-up of the other thread, which with passive waiting (program.h)
/// took 40–57 µs on the 2-core VMs (an empty region 11 µs, one over 4096 values 57), as long as one
/// thread adds ~500 K floats: a region over 131 K values took 70 µs against 17 serially, over 524 K
/// 87 against 61 (minimum of 5 × 200 back-to-back regions, AVX2 Zen 3 VM). From ~1 M values two
/// threads win.
constexpr int64_t kStreamGrain = 1 << 20;

/// Calls part(begin, end) on contiguous shares of [0, extent), one per OpenMP thread — or
/// part(0, extent) on the calling thread, with no parallel region at all, when the work is under
/// `grain` or the caller is already inside a parallel region. (A nested region of one thread is
/// still a call into libgomp, and the convolutions split every sample's product: a resnet20
/// training step entered ~1900 regions, most of them such, before.)
template <typename F>
void split_range(int64_t extent, int64_t work, int64_t grain, F part) {
  const int parts = omp_in_parallel() || work < grain ? 1 : omp_get_max_threads();
  if (parts == 1) {
    if (extent > 0) part(int64_t{0}, extent);
    return;
  }
#pragma omp parallel for num_threads(parts)
  for (int i = 0; i < parts; ++i)
    if (extent * i / parts < extent * (i + 1) / parts) part(extent * i / parts, extent * (i + 1) / parts);
}

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
