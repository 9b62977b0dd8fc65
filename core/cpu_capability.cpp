#include "cpu_capability.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "error.h"

namespace minidl {
namespace {

constexpr const char* kNames[kCpuCapabilities] = {"generic", "avx2", "avx512"};

// Which copies CMakeLists.txt compiled: a bit per CpuCapability.
#ifndef MINIDL_CPU_CAPABILITIES_BUILT
#define MINIDL_CPU_CAPABILITIES_BUILT 1
#endif

// The instructions each copy is compiled for (CMakeLists.txt's flags), asked of cpuid.
bool cpu_has(CpuCapability capability) {
  switch (capability) {
    case CpuCapability::Generic:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    case CpuCapability::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuCapability::Avx512:
      return cpu_has(CpuCapability::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#endif
    default:
      return false;
  }
}

// -1 until the first kernel call resolves it.
std::atomic<int> g_capability{-1};

}  // namespace

const char* to_string(CpuCapability capability) { return kNames[static_cast<int>(capability)]; }

CpuCapability parse_cpu_capability(const std::string& text, const std::string& what) {
  for (int i = 0; i < kCpuCapabilities; ++i)
    if (text == kNames[i]) return static_cast<CpuCapability>(i);
  MINIDL_FAIL(what, ": expected avx512, avx2 or generic, got '", text, "'");
}

bool cpu_supports(CpuCapability capability) {
  return ((MINIDL_CPU_CAPABILITIES_BUILT >> static_cast<int>(capability)) & 1) && cpu_has(capability);
}

std::vector<CpuCapability> supported_cpu_capabilities() {
  std::vector<CpuCapability> out;
  for (int i = kCpuCapabilities - 1; i >= 0; --i)
    if (cpu_supports(static_cast<CpuCapability>(i))) out.push_back(static_cast<CpuCapability>(i));
  return out;
}

CpuCapability cpu_capability() {
  const int known = g_capability.load(std::memory_order_relaxed);
  if (known >= 0) return static_cast<CpuCapability>(known);
  CpuCapability chosen = supported_cpu_capabilities().front();
  if (const char* forced = std::getenv("MINIDL_CPU"); forced && *forced) {
    chosen = parse_cpu_capability(forced, "MINIDL_CPU");
    MINIDL_CHECK(cpu_supports(chosen), "MINIDL_CPU=", forced, ": ",
                 cpu_has(chosen) ? "this build does not hold that path" : "this CPU cannot run that path",
                 " (supported here: ", to_string(supported_cpu_capabilities().front()), " and below)");
  }
  g_capability.store(static_cast<int>(chosen), std::memory_order_relaxed);
  return chosen;
}

void set_cpu_capability(CpuCapability capability) {
  MINIDL_CHECK(cpu_supports(capability), "set_cpu_capability: this ", cpu_has(capability) ? "build" : "CPU",
               " cannot run the ", to_string(capability), " path");
  g_capability.store(static_cast<int>(capability), std::memory_order_relaxed);
}

namespace {
std::atomic<int> g_conv_algorithm{-1};
}

ConvAlgorithm cpu_conv_algorithm() {
  const int known = g_conv_algorithm.load(std::memory_order_relaxed);
  if (known >= 0) return static_cast<ConvAlgorithm>(known);
  ConvAlgorithm chosen = ConvAlgorithm::Auto;
  if (const char* text = std::getenv("MINIDL_CPU_CONV"); text && *text) {
    const std::string t = text;
    MINIDL_CHECK(t == "auto" || t == "direct" || t == "winograd" || t == "winograd4",
                 "MINIDL_CPU_CONV: expected auto, direct, winograd or winograd4, got '", t, "'");
    chosen = t == "auto"       ? ConvAlgorithm::Auto
             : t == "direct"   ? ConvAlgorithm::Direct
             : t == "winograd" ? ConvAlgorithm::Winograd
                               : ConvAlgorithm::Winograd4;
  }
  g_conv_algorithm.store(static_cast<int>(chosen), std::memory_order_relaxed);
  return chosen;
}

void set_cpu_conv_algorithm(ConvAlgorithm algorithm) {
  g_conv_algorithm.store(static_cast<int>(algorithm), std::memory_order_relaxed);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown CPU";
}

std::string cpu_description() {
  std::string flags;
#if defined(__x86_64__) || defined(__i386__)
  // (__builtin_cpu_supports takes only a string literal.)
  const std::pair<const char*, bool> known[] = {
      {"avx2", __builtin_cpu_supports("avx2")},         {"fma", __builtin_cpu_supports("fma")},
      {"avx512f", __builtin_cpu_supports("avx512f")},   {"avx512vl", __builtin_cpu_supports("avx512vl")},
      {"avx512bw", __builtin_cpu_supports("avx512bw")}, {"avx512dq", __builtin_cpu_supports("avx512dq")}};
  for (const auto& [flag, present] : known)
    if (present) flags += std::string(flags.empty() ? "" : " ") + flag;
#endif
  return cpu_model() + " (" + (flags.empty() ? "no AVX2" : flags) + "; path " + to_string(cpu_capability()) + ")";
}

}  // namespace minidl
