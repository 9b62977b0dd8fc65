// What the CPU kernels share about threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "capability.h"
#include "scratch.h"

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

// A convolution's weight gradient (direct or Winograd) sums every sample's contribution. So that
// the sum does not depend on the number of threads (the same weights after training with 1 thread
// or 2), the samples are cut into kSumSlots fixed ranges, whatever the thread count; each range is
// summed in order into a buffer of its own (the first range into out itself), and the others are
// added to it in order at the end. Threads take whole ranges.
constexpr int64_t kSumSlots = 8;

// out[size] = Σ over the samples [0, N) (N ≥ 1; or over N chunks of samples, Winograd's), where
// sum_range(n0, n1, acc) writes the sum over [n0, n1) into acc — all of it, without reading it
// first: the buffers are not zeroed (8 of them are 1.2 MB for a 64-channel layer's weight
// gradient; memset's share of a resnet20 step fell by a quarter, from 2.5 % to 1.9 % of perf's
// samples).
template <typename T, typename F>
void sum_over_samples(int64_t N, int64_t size, T* out, F sum_range) {
  const int64_t slots = std::clamp<int64_t>(N, 1, kSumSlots);
  thread_local Scratch<T> parts_buffer;
  T* parts = parts_buffer.get(static_cast<size_t>((slots - 1) * size));  // ranges 1, 2, ...
  // Ranges go to threads when there are enough of them; otherwise sum_range's products split.
  const int threads = omp_in_parallel() || slots < omp_get_max_threads() ? 1 : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int64_t slot = 0; slot < slots; ++slot)
    sum_range(N * slot / slots, N * (slot + 1) / slots, slot == 0 ? out : parts + (slot - 1) * size);
  // The ranges' sums are added in order, element by element; threads take blocks of elements
  // when there are enough to repay waking them (stream_grain).
  constexpr int64_t kBlock = 4096;
#pragma omp parallel for num_threads(threads) if ((slots - 1) * size > stream_grain())
  for (int64_t first = 0; first < size; first += kBlock) {
    const int64_t last = std::min(size, first + kBlock);
    for (int64_t slot = 1; slot < slots; ++slot)
      for (int64_t i = first; i < last; ++i) out[i] += parts[(slot - 1) * size + i];
  }
}

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
