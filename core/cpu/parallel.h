// What the CPU kernels share about threads.
#pragma once

#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {

/// Elements above which a loop is split across OpenMP threads.
constexpr int64_t kParallelGrain = 1 << 15;

/// The same for loops that only stream memory (elementwise ops, copies, the optimizers' updates):
/// a parallel region costs a wake-up of the other thread. With passive waiting (programs run with
/// MINIDL_ADAPTIVE_THREADS=0, core/program.h) that took 40–57 µs on the 2-core VMs — as long as
/// one thread adds ~500 K floats — so such loops split from 2²⁰ values. With libgomp's default,
/// the threads spinning a while between regions (the programs' default now that the thread count
/// adapts to the load, core/threads.h), a region over 4096 floats took 2.5 µs against 2.1 on one
/// thread, over 32 K 8.8 against 12.8, so they split from 2¹⁵ (minimum of 5 × 200 back-to-back
/// regions, AVX2 Zen 3 VM).
inline int64_t stream_grain() {
  static const int64_t grain = [] {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    return policy != nullptr && (std::strcmp(policy, "passive") == 0 || std::strcmp(policy, "PASSIVE") == 0)
               ? int64_t{1} << 20
               : int64_t{1} << 15;
  }();
  return grain;
}

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
