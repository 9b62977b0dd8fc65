// Functions of core/cpu/ that callers outside it reach on the path in use — the GEMM (which
// tests/test_gemm.cpp checks on every path against OpenBLAS) and the FMA peak probe (bench/layers)
// — as kernel tables like the ops' (core/kernels/table.h), filled by each copy of core/cpu/.
// Inside core/cpu/, kernels call their own copy's functions directly (gemm.h).
#pragma once

#include <cstdint>

#include "../kernels/table.h"

namespace minidl::kernels {

template <typename T>
using CpuGemm = void(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                     int64_t ldb, T beta, T* c, int64_t ldc);
inline KernelTable<CpuGemm<float>> cpu_sgemm_kernel{"gemm"};
inline KernelTable<CpuGemm<double>> cpu_dgemm_kernel{"gemm"};
inline KernelTable<void(bool ta, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                        const float* packed_b, float beta, float* c, int64_t ldc)>
    cpu_sgemm_packed_b_kernel{"gemm_packed_b"};
inline KernelTable<int64_t()> cpu_gemm_panel_width_kernel{"gemm_panel_width"};

/// One core's float32 FMA peak in GFLOP/s on this path, measured for about `seconds` by a loop of
/// independent multiply-adds (core/cpu/peak.cpp): what bench/layers divides kernels' speed by.
inline KernelTable<double(double seconds)> cpu_fma_peak_kernel{"fma_peak"};

}  // namespace minidl::kernels
