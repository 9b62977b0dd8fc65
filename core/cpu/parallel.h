// What the CPU kernels share about threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

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

/// The iterations [0, n) of a loop over samples (or chunks of them), shared out between the
/// threads of a parallel region: thread t takes first, in order, the contiguous share a static
/// schedule would give it, then the last iterations of the other threads' shares. So when the
/// threads keep pace, every layer gives a core the samples it gave it in the layer before, and
/// finds them in that core's cache (the convolutions, the norms and the weight gradients' ranges
/// take their samples so; the elementwise loops split their values the same way, statically).
/// Beside a busy process, where one thread may be descheduled for milliseconds, the other takes
/// over the rest of its share rather than wait at the barrier; so does the faster core where the
/// two are not equal (on the Zen 5 VM one vCPU ran memory-bound loops 1.4x slower than the other).
/// (schedule(dynamic) before: the threads took turns, sample by sample, and each layer read half
/// its input from the other core's cache. AVX-512 VM, 2 threads, img/s, alternating with it:
/// training resnet20 GN b32 1015–1024 → 1228–1245, BN b32 967–974 → 1052–1061, inference
/// resnet20 BN b32 3426–3509 → 4007–4117.)
///
///   SampleShares shares(n);
///   #pragma omp parallel
///   shares.run([&](int64_t i) { ... });
///
/// Each share is a front and a back (one atomic word): its owner takes the front, others the back.
class SampleShares {
 public:
  explicit SampleShares(int64_t n, int threads = omp_get_max_threads())
      : n_(std::max<int64_t>(n, 0)),
        block_(n_ < kMaxItems ? 1 : (n_ + kMaxItems - 1) / kMaxItems),
        count_(std::max(threads, 1)),
        shares_(new Share[static_cast<size_t>(count_)]) {
    const int64_t items = (n_ + block_ - 1) / block_;
    for (int t = 0; t < count_; ++t) shares_[t].bounds = pack(items * t / count_, items * (t + 1) / count_);
  }
  /// Inside the parallel region (or outside it: then the calling thread does every iteration):
  /// calls body(i) for the iterations this thread gets. A team smaller than `threads` leaves
  /// shares without an owner; the others take them from the back.
  template <typename F>
  void run(F body) {
    auto items = [&](int64_t item) {  // one iteration, or a block of them past kMaxItems
      for (int64_t i = item * block_, last = std::min(n_, i + block_); i < last; ++i) body(i);
    };
    const int me = omp_get_thread_num();
    if (me < count_)
      for (int64_t item; (item = take(shares_[me], true)) >= 0;) items(item);
    for (int k = 1; k < count_; ++k) {
      Share& other = shares_[(me + k) % count_];
      for (int64_t item; (item = take(other, false)) >= 0;) items(item);
    }
  }

 private:
  static constexpr int64_t kMaxItems = int64_t{1} << 31;  // a share's bounds are 32 bits each
  struct alignas(64) Share {  // a cache line each: the owners' takes do not contend
    std::atomic<uint64_t> bounds;  // [front, back): front in the low 32 bits
  };
  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32;
  }
  // The share's first item (front) or last (back), taken; −1 when it is empty.
  static int64_t take(Share& s, bool front) {
    uint64_t b = s.bounds.load(std::memory_order_relaxed);
    for (;;) {
      const auto lo = static_cast<int64_t>(b & 0xffffffffu), hi = static_cast<int64_t>(b >> 32);
      if (lo >= hi) return -1;
      const uint64_t next = front ? pack(lo + 1, hi) : pack(lo, hi - 1);
      if (s.bounds.compare_exchange_weak(b, next, std::memory_order_relaxed)) return front ? lo : hi - 1;
    }
  }
  int64_t n_, block_;  // iterations, and iterations per item shared out
  int count_;
  std::unique_ptr<Share[]> shares_;
};

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
  SampleShares shares(slots, threads);
#pragma omp parallel num_threads(threads)
  shares.run([&](int64_t slot) {
    sum_range(N * slot / slots, N * (slot + 1) / slots, slot == 0 ? out : parts + (slot - 1) * size);
  });
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
