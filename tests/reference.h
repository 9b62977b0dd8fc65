// Naive reference kernels, for the tests only: the plainest loops over float64 values, written
// from the definitions (llm.c keeps such a reference beside each fast kernel). Every fast kernel,
// on every device, is compared with one of these in its op's test file.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace test::reference {

using Values = std::vector<double>;

/// GroupNorm of x[N, C, HW]: per (n, group) mean and biased variance, by two plain passes.
inline Values group_norm(const Values& x, int64_t N, int64_t C, int64_t HW, int64_t G, const Values& w,
                         const Values& b, double eps) {
  Values y(x.size());
  const int64_t cg = C / G, count = cg * HW;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t first = (n * C + g * cg) * HW;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < count; ++i) mean += x[first + i];
      mean /= count;
      for (int64_t i = 0; i < count; ++i) var += (x[first + i] - mean) * (x[first + i] - mean);
      var /= count;
      for (int64_t i = 0; i < count; ++i) {
        const int64_t c = g * cg + i / HW;
        y[first + i] = (x[first + i] - mean) / std::sqrt(var + eps) * (w.empty() ? 1.0 : w[c]) + (b.empty() ? 0.0 : b[c]);
      }
    }
  return y;
}

/// BatchNorm of x[N, C, HW] with the batch's statistics (training) or the given ones (eval).
/// In training, running_mean/var move by `momentum` towards the batch mean and unbiased variance.
inline Values batch_norm(const Values& x, int64_t N, int64_t C, int64_t HW, const Values& w, const Values& b,
                         Values& running_mean, Values& running_var, bool training, double momentum, double eps) {
  Values y(x.size());
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    if (training) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HW; ++i) mean += x[(n * C + c) * HW + i];
      mean /= N * HW;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HW; ++i) var += std::pow(x[(n * C + c) * HW + i] - mean, 2);
      var /= N * HW;
      running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
      running_var[c] = (1 - momentum) * running_var[c] + momentum * var * (N * HW) / (N * HW - 1);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t at = (n * C + c) * HW + i;
        y[at] = (x[at] - mean) / std::sqrt(var + eps) * (w.empty() ? 1.0 : w[c]) + (b.empty() ? 0.0 : b[c]);
      }
  }
  return y;
}

struct ConvShape {
  int64_t n, c, h, w, k, r, stride, pad;
  int64_t p() const { return (h + 2 * pad - r) / stride + 1; }
  int64_t q() const { return (w + 2 * pad - r) / stride + 1; }
};

/// y, dx, dw, dbias of y = conv(x, w) + b (square R×R kernel) with upstream gradient g.
struct ConvResult {
  Values y, dx, dw, db;
};
inline ConvResult conv2d(const ConvShape& cc, const Values& x, const Values& w, const Values& b, const Values& g) {
  const int64_t P = cc.p(), Q = cc.q();
  ConvResult out{Values(cc.n * cc.k * P * Q), Values(x.size()), Values(w.size()), Values(cc.k)};
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

/// Max or average (padding counted, as PyTorch's count_include_pad) pooling of x[planes, H, W]
/// with a square window.
inline Values pool2d(const Values& x, int64_t planes, int64_t H, int64_t W, int64_t kernel, int64_t stride,
                     int64_t pad, bool max) {
  const int64_t P = (H + 2 * pad - kernel) / stride + 1, Q = (W + 2 * pad - kernel) / stride + 1;
  Values y(planes * P * Q);
  for (int64_t m = 0; m < planes; ++m)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
        for (int64_t i = 0; i < kernel; ++i)
          for (int64_t j = 0; j < kernel; ++j) {
            const int64_t h = p * stride - pad + i, w = q * stride - pad + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const double v = x[(m * H + h) * W + w];
            acc = max ? std::max(acc, v) : acc + v;
          }
        // The window's area inside the padded image (it may stick out past the padding).
        const int64_t h_end = std::min(p * stride - pad + kernel, H + pad), w_end = std::min(q * stride - pad + kernel, W + pad);
        const double area = static_cast<double>((h_end - (p * stride - pad)) * (w_end - (q * stride - pad)));
        y[(m * P + p) * Q + q] = max ? acc : acc / area;
      }
  return y;
}

/// Adaptive average pooling of x[planes, H, W] to P×Q bins [floor(i·H/P), ceil((i+1)·H/P)).
inline Values adaptive_avg_pool2d(const Values& x, int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q) {
  Values y(planes * P * Q);
  for (int64_t m = 0; m < planes; ++m)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P, w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q;
        double acc = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) acc += x[(m * H + h) * W + w];
        y[(m * P + p) * Q + q] = acc / static_cast<double>((h1 - h0) * (w1 - w0));
      }
  return y;
}

/// log_softmax over the rows of x[M, K].
inline Values log_softmax(const Values& x, int64_t M, int64_t K) {
  Values y(x.size());
  for (int64_t m = 0; m < M; ++m) {
    double total = 0;
    for (int64_t k = 0; k < K; ++k) total += std::exp(x[m * K + k]);
    for (int64_t k = 0; k < K; ++k) y[m * K + k] = x[m * K + k] - std::log(total);
  }
  return y;
}

/// Mean over samples of −Σ_k t[k]·log p[k], t = (1 − ε)·onehot(label) + ε/K.
inline double cross_entropy(const Values& logits, int64_t N, int64_t K, const std::vector<int64_t>& labels,
                            double smoothing) {
  const Values lp = log_softmax(logits, N, K);
  double loss = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) loss -= (smoothing / K + (k == labels[n] ? 1 - smoothing : 0.0)) * lp[n * K + k];
  return loss / N;
}

}  // namespace test::reference
