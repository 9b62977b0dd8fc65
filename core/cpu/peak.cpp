// The FMA peak probe: the GFLOP/s one core reaches on this path with nothing but multiply-adds in
// registers — the ceiling bench/layers compares the kernels with. kChains independent
// accumulators cover the FMA latency (4 to 5 cycles) on two FMA pipes: 12 vectors, which fit in
// the 16 registers of AVX2 and baseline x86-64 as well as in AVX-512's 32.
#include <chrono>

#include "exported.h"
#include "capability.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

#if defined(__AVX512F__)
constexpr int kBytes = 64;
#elif defined(__AVX__)
constexpr int kBytes = 32;
#else
constexpr int kBytes = 16;
#endif
typedef float V __attribute__((vector_size(kBytes)));
constexpr int kChains = 12, kLanes = kBytes / sizeof(float);

// acc = acc · m + a, `steps` times on each chain: 2·kLanes flops per chain and step.
float fma_loop(int64_t steps) {
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = V{} + 1.0f + 0.001f * i;
  V m = V{} + 0.999999f, a = V{} + 1e-6f;
  asm("" : "+v"(m), "+v"(a));  // unknown to the compiler: the loop cannot be folded
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * m + a;
  }
  V sum = V{};
  for (int i = 0; i < kChains; ++i) sum += acc[i];
  float total = 0;
  for (int l = 0; l < kLanes; ++l) total += sum[l];
  return total;
}

double fma_peak(double seconds) {
  using Clock = std::chrono::steady_clock;
  constexpr int64_t steps = 1 << 20;
  double best = 0, elapsed = 0;
  volatile float sink = 0;
  while (elapsed < seconds) {  // the best of repeated runs: other processes only slow a run down
    const auto start = Clock::now();
    sink = sink + fma_loop(steps);
    const double dt = std::chrono::duration<double>(Clock::now() - start).count();
    elapsed += dt;
    const double gflops = 2.0 * kLanes * kChains * static_cast<double>(steps) / dt * 1e-9;
    if (gflops > best) best = gflops;
  }
  return best;
}

}  // namespace

MINIDL_REGISTER_KERNEL(cpu_fma_peak_kernel, CPU, fma_peak);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
