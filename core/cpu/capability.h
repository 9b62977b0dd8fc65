// Every kernel file of core/cpu/ is compiled once per instruction-set path (CMakeLists.txt:
// minidl_cpu_kernels): generic x86-64, AVX2 + FMA, AVX-512. MINIDL_CPU_CAPABILITY names the copy
// being compiled (generic, avx2 or avx512) and is the namespace its names live in —
//     namespace minidl::cpu { inline namespace MINIDL_CPU_CAPABILITY { ... } }
// — so that the copies' functions do not clash (minidl::cpu::avx2::gemm<float>, ...), and its
// MINIDL_REGISTER_KERNEL lines fill the table's slot for that path (core/kernels/table.h).
// core/cpu_capability.h chooses the path at run time.
#pragma once

#include "../cpu_capability.h"

#if !defined(MINIDL_CPU_CAPABILITY) || !defined(MINIDL_CPU_CAPABILITY_ENUM)
#error "core/cpu/ kernel files are compiled once per path, with -DMINIDL_CPU_CAPABILITY=avx2 -DMINIDL_CPU_CAPABILITY_ENUM=Avx2 (CMakeLists.txt)"
#endif
