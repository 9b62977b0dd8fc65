// Which of the CPU kernels' instruction-set paths runs: every kernel file of core/cpu/ is compiled
// once per path (CMakeLists.txt: generic x86-64, AVX2 + FMA, AVX-512), and the kernel tables pick
// the copy of the path chosen here at run time — PyTorch's CPU capability.
//
// The path is the best this CPU supports, unless the environment variable MINIDL_CPU names one
// (avx512, avx2 or generic) or set_cpu_capability chooses another: an AVX2 path can be measured or
// tested on an AVX-512 machine too.
#pragma once

#include <string>
#include <vector>

namespace minidl {

enum class CpuCapability : int { Generic = 0, Avx2 = 1, Avx512 = 2 };
constexpr int kCpuCapabilities = 3;

/// "generic", "avx2", "avx512".
const char* to_string(CpuCapability capability);
/// The inverse of to_string; minidl::Error naming `what` (e.g. "MINIDL_CPU") for anything else.
CpuCapability parse_cpu_capability(const std::string& text, const std::string& what = "cpu capability");

/// True when this build holds the path and this CPU can run it.
bool cpu_supports(CpuCapability capability);
/// Every path cpu_supports, best first.
std::vector<CpuCapability> supported_cpu_capabilities();

/// The path the CPU kernels run: set_cpu_capability's, else MINIDL_CPU's, else the best supported.
/// A MINIDL_CPU this CPU cannot run is a minidl::Error (at the first kernel call).
CpuCapability cpu_capability();
/// Runs the CPU kernels on `capability` from now on; minidl::Error when !cpu_supports(capability).
/// Not to be called while kernels run on other threads.
void set_cpu_capability(CpuCapability capability);

/// How the CPU computes 3x3 stride-1 convolutions (padding up to 2), forward and backward-data:
/// Auto — Winograd in float32 where conv.cpp's rule says it is faster, the direct kernel
/// otherwise and always in float64 (the reference); Direct; Winograd — F(2x2, 3x3) wherever it
/// applies, float64 too (for tests); Winograd4 — the same with F(4x4, 3x3).
/// set_cpu_conv_algorithm's, else MINIDL_CPU_CONV's (auto | direct | winograd | winograd4), else Auto.
enum class ConvAlgorithm : int { Auto = 0, Direct = 1, Winograd = 2, Winograd4 = 3 };
ConvAlgorithm cpu_conv_algorithm();
void set_cpu_conv_algorithm(ConvAlgorithm algorithm);

/// The CPU's model name (/proc/cpuinfo's "model name"), or "unknown CPU".
std::string cpu_model();
/// "AMD EPYC 7B13 (avx2 fma avx512f ...; path avx512)": the model, the flags that matter to the
/// kernels and the path in use — what every benchmark table names.
std::string cpu_description();

}  // namespace minidl
