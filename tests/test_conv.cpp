// conv2d's CPU paths against a plain-loop convolution computed in double: the stride-1
// "shifted windows" path (core/cpu/conv.cpp: forward, backward-data as a flipped convolution,
// weight gradient by row dots over chunks of samples) and the im2col path, on shapes that
// exercise their edges: batch 1 (one GEMM split between threads) and batches larger than a
// chunk, more input channels than one GEMM k-slab (C·R·S > 384), padding smaller than R − 1,
// rectangular images, kernels of 1, 3 and 5.
#include <minidl/autograd/functional.h>

#include "helpers.h"

using namespace minidl;

namespace {

struct ConvCase {
  int64_t n, c, h, w, k, r, stride, pad;
};

// y, dx, dw, dbias of y = conv(x, w) + b with upstream gradient g, in plain loops.
struct Reference {
  std::vector<double> y, dx, dw, db;
};

Reference reference(const ConvCase& cc, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& g, int64_t P, int64_t Q) {
  Reference out{std::vector<double>(cc.n * cc.k * P * Q), std::vector<double>(x.size()), std::vector<double>(w.size()),
                std::vector<double>(cc.k)};
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t k = 0; k < cc.k; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t yi = ((n * cc.k + k) * P + p) * Q + q;
          double sum = b[k];
          out.db[k] += g[yi];
          for (int64_t c = 0; c < cc.c; ++c)
            for (int64_t r = 0; r < cc.r; ++r)
              for (int64_t s = 0; s < cc.r; ++s) {
                const int64_t h = p * cc.stride - cc.pad + r, ww = q * cc.stride - cc.pad + s;
                if (h < 0 || h >= cc.h || ww < 0 || ww >= cc.w) continue;
                const int64_t xi = ((n * cc.c + c) * cc.h + h) * cc.w + ww, wi = ((k * cc.c + c) * cc.r + r) * cc.r + s;
                sum += w[wi] * x[xi];
                out.dx[xi] += w[wi] * g[yi];
                out.dw[wi] += x[xi] * g[yi];
              }
          out.y[yi] = sum;
        }
  return out;
}

void check_close(const Tensor& got, const std::vector<double>& expected, double tol, const char* what) {
  const std::vector<double> values = got.to(kFloat64).to_vector<double>();
  REQUIRE(values.size() == expected.size());
  double worst = 0, scale = 1;
  for (double e : expected) scale = std::max(scale, std::abs(e));
  for (size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::abs(values[i] - expected[i]) / scale);
  INFO(what);
  CHECK(worst < tol);
}

void check_case(const ConvCase& cc, DType dtype) {
  CAPTURE(cc.n);
  CAPTURE(cc.c);
  CAPTURE(cc.h);
  CAPTURE(cc.w);
  CAPTURE(cc.k);
  CAPTURE(cc.r);
  CAPTURE(cc.stride);
  CAPTURE(cc.pad);
  Generator gen(static_cast<uint64_t>(cc.c * 7 + cc.r * 3 + cc.pad + cc.n * 11));
  const Tensor x = randn({cc.n, cc.c, cc.h, cc.w}, kFloat64, gen);
  const Tensor w = randn({cc.k, cc.c, cc.r, cc.r}, kFloat64, gen);
  const Tensor b = randn({cc.k}, kFloat64, gen);
  const int64_t P = (cc.h + 2 * cc.pad - cc.r) / cc.stride + 1, Q = (cc.w + 2 * cc.pad - cc.r) / cc.stride + 1;
  const Tensor g = randn({cc.n, cc.k, P, Q}, kFloat64, gen);
  const Reference ref = reference(cc, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>(),
                                  g.to_vector<double>(), P, Q);

  Tensor xt = x.to(dtype).requires_grad_(), wt = w.to(dtype).requires_grad_(), bt = b.to(dtype).requires_grad_();
  Tensor y = conv2d(xt, wt, bt, cc.stride, cc.pad);
  y.backward(g.to(dtype));
  const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
  check_close(y, ref.y, tol, "y");
  check_close(xt.grad(), ref.dx, tol, "dx");
  check_close(wt.grad(), ref.dw, tol, "dw");
  check_close(bt.grad(), ref.db, tol, "dbias");
}

}  // namespace

TEST_CASE("conv2d equals a plain-loop convolution on the stride-1 and im2col paths, float32 and float64") {
  const ConvCase cases[] = {
      {1, 3, 9, 7, 5, 3, 1, 1},     // batch 1: the GEMMs are split between threads
      {5, 3, 9, 7, 5, 3, 1, 1},     // batches split between threads
      {2, 50, 6, 5, 9, 3, 1, 1},    // C·R·S = 450: two k-slabs
      {3, 4, 8, 11, 6, 3, 1, 0},    // no padding
      {2, 4, 7, 6, 3, 5, 1, 1},     // padding < (R − 1) / 2
      {2, 2, 5, 6, 3, 1, 1, 0},     // 1x1: the input itself is col
      {40, 2, 4, 3, 3, 3, 1, 1},    // more samples than one weight-gradient chunk
      {3, 5, 9, 8, 4, 3, 2, 1},     // stride 2: im2col
      {2, 3, 10, 9, 4, 1, 2, 0},    // 1x1 stride 2: im2col
  };
  for (const ConvCase& cc : cases) {
    check_case(cc, kFloat32);
    check_case(cc, kFloat64);
  }
}
