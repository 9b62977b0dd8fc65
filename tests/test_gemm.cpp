// Our GEMM (core/cpu/gemm.cpp) against OpenBLAS, the reference, on every CPU path this machine
// runs: every transpose combination, odd sizes that leave partial tiles and panels, α and β,
// float and double, and the prepacked-B entry point.
#include <cblas.h>

#include <minidl/core/cpu/exported.h>

#include "helpers.h"

using namespace minidl;

namespace {

void reference(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
               float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

void reference(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
               double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  kernels::cpu_sgemm_kernel.at(Device::cpu())(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  kernels::cpu_dgemm_kernel.at(Device::cpu())(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void check_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, T alpha, T beta) {
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  CAPTURE(ta);
  CAPTURE(tb);
  Generator g(static_cast<uint64_t>(m * 131 + n * 17 + k));
  const DType dtype = dtype_of<T>();
  // Leading dimensions larger than the matrices, to catch stride mistakes.
  const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
  const std::vector<T> a = randn({(ta ? k : m) * lda}, dtype, g).template to_vector<T>();
  const std::vector<T> b = randn({(tb ? n : k) * ldb}, dtype, g).template to_vector<T>();
  std::vector<T> c = randn({m * ldc}, dtype, g).template to_vector<T>();
  std::vector<T> expected = c;
  if (beta == 0) std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());  // β = 0 ignores C
  gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  reference(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, expected.data(), ldc);
  double worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double d = std::abs(static_cast<double>(c[i * ldc + j]) - expected[i * ldc + j]);
      worst = std::max(worst, std::isnan(d) ? INFINITY : d / std::max(1.0, std::abs(static_cast<double>(expected[i * ldc + j]))));
    }
  CHECK(worst < (sizeof(T) == 4 ? 1e-4 : 1e-12));
}

}  // namespace

TEST_CASE("gemm matches OpenBLAS for every transpose, odd sizes, alpha and beta") {
  const int64_t sizes[][3] = {{1, 1, 1}, {5, 7, 3}, {13, 33, 17}, {12, 32, 384}, {25, 65, 400}, {100, 257, 70}, {200, 40, 800}};
  test::for_each_cpu_path([&] {
  for (const auto& s : sizes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        check_gemm<float>(s[0], s[1], s[2], ta, tb, 1.0f, 0.0f);
        check_gemm<float>(s[0], s[1], s[2], ta, tb, 0.5f, -1.5f);
        check_gemm<double>(s[0], s[1], s[2], ta, tb, 1.0, 0.0);
        check_gemm<double>(s[0], s[1], s[2], ta, tb, -2.0, 1.0);
      }
    }
  }
  check_gemm<float>(3000, 5, 9, false, false, 1.0f, 0.0f);  // more rows than one A block
  check_gemm<float>(7, 3500, 9, false, true, 1.0f, 1.0f);   // more columns than one B block
  });
}

TEST_CASE("gemm_packed_b reads B from the packed panel layout") {
  const int64_t m = 20, n = 70, k = 45;
  Generator g(3);
  const std::vector<float> a = randn({m * k}, kFloat32, g).to_vector<float>();
  const std::vector<float> b = randn({k * n}, kFloat32, g).to_vector<float>();
  test::for_each_cpu_path([&] {
    // Panel width W: column j of row p at (j / W)·(k·W) + p·W + j % W (core/cpu/gemm.h).
    const int64_t width = kernels::cpu_gemm_panel_width_kernel.at(Device::cpu())();
    std::vector<float> packed(static_cast<size_t>(k * ((n + width - 1) / width * width)), 0.0f);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) packed[(j / width) * (k * width) + p * width + j % width] = b[p * n + j];
    std::vector<float> c(m * n), expected(m * n);
    kernels::cpu_sgemm_packed_b_kernel.at(Device::cpu())(false, m, n, k, 1.0f, a.data(), k, packed.data(), 0.0f,
                                                          c.data(), n);
    reference(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, expected.data(), n);
    for (size_t i = 0; i < c.size(); ++i) CHECK(c[i] == doctest::Approx(expected[i]).epsilon(1e-4));
  });
}
