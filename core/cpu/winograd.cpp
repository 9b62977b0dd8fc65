// Winograd F(m x m, 3x3) convolution on the CPU, m = 2 or 4: the math is in winograd.h.
// Per chunk of samples (enough tiles for a GEMM of a useful width): the inputs of every tile are
// transformed straight into GEMM's packed-B layout (gemm.h), the α² products run (α = m + 2),
// and the α x α results are transformed back into m x m outputs. Threads take whole chunks.
// Both tile sizes share every loop; only the 1-D transforms below differ.
#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "copy.h"
#include "gemm.h"
#include "scratch.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

// ---- the 1-D transforms of F(M, 3); the 2-D ones apply them to columns, then to rows ----

// y = Bᵀ·x, the input transform.
template <int M, typename T>
inline void input_1d(const T (&x)[M + 2], T (&y)[M + 2]) {
  if constexpr (M == 2) {  // Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
    y[0] = x[0] - x[2];
    y[1] = x[1] + x[2];
    y[2] = x[2] - x[1];
    y[3] = x[1] - x[3];
  } else {  // Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
    const T a = x[4] - x[2], b = x[3] - x[1];
    y[0] = T(4) * x[0] - T(5) * x[2] + x[4];
    y[1] = (x[3] + x[4]) - T(4) * (x[1] + x[2]);
    y[2] = (x[4] - x[3]) + T(4) * (x[1] - x[2]);
    y[3] = a + T(2) * b;
    y[4] = a - T(2) * b;
    y[5] = T(4) * x[1] - T(5) * x[3] + x[5];
  }
}

// y = Aᵀ·x, the output transform: M values from M + 2.
template <int M, typename T>
inline void output_1d(const T (&x)[M + 2], T (&y)[M]) {
  if constexpr (M == 2) {  // Aᵀ = [1 1 1 0; 0 1 −1 −1]
    y[0] = x[0] + x[1] + x[2];
    y[1] = x[1] - x[2] - x[3];
  } else {  // Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
    const T a = x[1] + x[2], b = x[1] - x[2], c = x[3] + x[4], d = x[3] - x[4];
    y[0] = x[0] + a + c;
    y[1] = b + T(2) * d;
    y[2] = a + T(4) * c;
    y[3] = b + T(8) * d + x[5];
  }
}

// y = G·x, the weight transform of 3 taps (in double: it runs once per call).
template <int M>
inline void weight_1d(const double (&x)[3], double (&y)[M + 2]) {
  if constexpr (M == 2) {  // G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
    y[0] = x[0];
    y[1] = 0.5 * (x[0] + x[1] + x[2]);
    y[2] = 0.5 * (x[0] - x[1] + x[2]);
    y[3] = x[2];
  } else {  // G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
    y[0] = x[0] / 4;
    y[1] = -(x[0] + x[1] + x[2]) / 6;
    y[2] = -(x[0] - x[1] + x[2]) / 6;
    y[3] = x[0] / 24 + x[1] / 12 + x[2] / 6;
    y[4] = x[0] / 24 - x[1] / 12 + x[2] / 6;
    y[5] = x[2];
  }
}

// U[e][k][c] = (G·g·Gᵀ)[e] for every kernel g = w[k][c] (3x3), e < α².
template <int M, typename T>
std::vector<T> transform_weights(const T* w, int64_t K, int64_t C) {
  constexpr int A = M + 2;
  std::vector<T> u(static_cast<size_t>(A * A * K * C));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c) {
      const T* g = w + (k * C + c) * 9;
      double t[A][3];  // G·g, a column at a time
      for (int j = 0; j < 3; ++j) {
        const double col[3] = {g[j], g[3 + j], g[6 + j]};
        double out[A];
        weight_1d<M>(col, out);
        for (int i = 0; i < A; ++i) t[i][j] = out[i];
      }
      for (int i = 0; i < A; ++i) {  // (G·g)·Gᵀ, a row at a time
        const double row[3] = {t[i][0], t[i][1], t[i][2]};
        double out[A];
        weight_1d<M>(row, out);
        for (int j = 0; j < A; ++j) u[((i * A + j) * K + k) * C + c] = static_cast<T>(out[j]);
      }
    }
  return u;
}

// The chunk's geometry: tiles of M x M outputs, and each channel's input padded so that every
// tile's α x α window lies inside it (zeros around). A padded row is stored deinterleaved — its
// columns ≡ 0 (mod M), then those ≡ 1, ..., tw + 1 of each — so that column M·tx + j of
// consecutive tiles is consecutive values (phase j mod M, index tx + j / M): a row copy.
template <int M>
struct Tiles {
  int64_t C, H, W, ph, pw, P, Q;
  int64_t th() const { return (P + M - 1) / M; }
  int64_t tw() const { return (Q + M - 1) / M; }
  int64_t per_sample() const { return th() * tw(); }
  int64_t Hp() const { return M * th() + 2; }
  int64_t half() const { return tw() + 1; }  // values of one phase of a padded row
  int64_t row() const { return M * half(); }
  int64_t plane() const { return Hp() * row(); }
};

// `count` samples' padded planes xp[i·C + c] (deinterleaved rows, zeros around) from x: every
// value of each plane is written, the pads too (xp is reused scratch).
template <int M, typename T>
void pad_deinterleaved(const T* x, const Tiles<M>& g, int64_t count, T* xp) {
  const int64_t half = g.half();
  for (int64_t i = 0; i < count * g.C; ++i) {
    T* plane = xp + i * g.plane();
    std::fill(plane, plane + g.plane(), T(0));
    for (int64_t h = 0; h < g.H; ++h) {
      const T* src = x + (i * g.H + h) * g.W;
      T* row = plane + (h + g.ph) * g.row();
      for (int64_t w = 0; w < g.W; ++w) {
        const int64_t col = w + g.pw;
        row[(col % M) * half + col / M] = src[w];
      }
    }
  }
}

// V[e] in packed-B layout (panel width `width`, `stride` elements from one e to the next) for
// the tiles of `count` samples, a channel at a time. The α² values of each of the channel's tiles
// are first gathered into d[e][tile] — row copies: in a deinterleaved row, column M·tx + j of
// consecutive tiles is consecutive — so that the transform is a vector loop over every tile of the
// chunk, however short a row of tiles is. (A vector loop along a row of tiles ran half-empty where
// rows are short: 4 tiles at 8x8 with F(2x2), half an AVX2 vector, and scalar bookkeeping per row.)
// d holds α²·count·per_sample values.
template <int M, typename T>
void transform_inputs(const T* xp, const Tiles<M>& g, int64_t count, int64_t width, int64_t stride, T* d, T* v) {
  constexpr int A = M + 2;
  const int64_t half = g.half(), tw = g.tw(), tiles = count * g.per_sample();
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t i = 0; i < count; ++i)
      for (int64_t ty = 0; ty < g.th(); ++ty) {
        const T* r0 = xp + (i * g.C + c) * g.plane() + M * ty * g.row();
        T* first = d + i * g.per_sample() + ty * tw;
        for (int r = 0; r < A; ++r)
          for (int j = 0; j < A; ++j)
            copy_short(r0 + r * g.row() + (j % M) * half + j / M, tw, first + (r * A + j) * tiles);
      }
    for (int64_t t0 = 0; t0 < tiles; t0 += width) {  // a panel's tiles are consecutive values of V
      const int64_t len = std::min(width, tiles - t0);
      T* out = v + packed_b_index(c, t0, g.C, width) - t0;  // out[e·stride + t]
#pragma omp simd
      for (int64_t t = t0; t < t0 + len; ++t) {
        T u[A][A];  // Bᵀ·d, a column at a time
#pragma GCC unroll 8
        for (int j = 0; j < A; ++j) {
          T col[A], y[A];
#pragma GCC unroll 8
          for (int r = 0; r < A; ++r) col[r] = d[(r * A + j) * tiles + t];
          input_1d<M>(col, y);
#pragma GCC unroll 8
          for (int r = 0; r < A; ++r) u[r][j] = y[r];
        }
#pragma GCC unroll 8
        for (int r = 0; r < A; ++r) {  // (Bᵀ·d)·B, a row at a time
          T y[A];
          input_1d<M>(u[r], y);
#pragma GCC unroll 8
          for (int j = 0; j < A; ++j) out[(r * A + j) * stride + t] = y[j];
        }
      }
    }
  }
}

// y[i][k] (M x M per tile, clipped at the edges) = Aᵀ·m·A through `out` from m[e][k][tile]: per
// output channel a vector loop over every tile of the chunk into rows[r][j][tile] (output row r of
// the tile, column j), interleaved into y's rows after. rows holds M²·count·per_sample values.
template <int M, typename T>
void transform_outputs(const T* m, const Tiles<M>& g, int64_t count, int64_t K, const OutputPass<T>& out, T* rows,
                       T* y) {
  constexpr int A = M + 2;
  const int64_t tiles = count * g.per_sample(), P = g.P, Q = g.Q, tw = g.tw(), step = K * tiles;  // step: e to e + 1
  for (int64_t k = 0; k < K; ++k) {
    const T* src = m + k * tiles;
#pragma omp simd
    for (int64_t t = 0; t < tiles; ++t) {
      T u[M][A];  // Aᵀ·m, a column at a time
#pragma GCC unroll 8
      for (int j = 0; j < A; ++j) {
        T col[A], o[M];
#pragma GCC unroll 8
        for (int r = 0; r < A; ++r) col[r] = src[(r * A + j) * step + t];
        output_1d<M>(col, o);
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r) u[r][j] = o[r];
      }
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {  // (Aᵀ·m)·A, a row at a time
        T o[M];
        output_1d<M>(u[r], o);
#pragma GCC unroll 8
        for (int j = 0; j < M; ++j) rows[(r * M + j) * tiles + t] = o[j];
      }
    }
    for (int64_t i = 0; i < count; ++i)
      for (int64_t ty = 0; ty < g.th(); ++ty)
        for (int r = 0; r < M && M * ty + r < P; ++r) {
          const int64_t at = ((i * K + k) * P + M * ty + r) * Q;
          const T* phases = rows + r * M * tiles + i * g.per_sample() + ty * tw;  // phases[j·tiles + tx]
          for (int64_t q = 0; q < Q; ++q) y[at + q] = phases[(q % M) * tiles + q / M];
          if (!out.trivial()) out.row(y + at, Q, k, at, y + at);
        }
  }
}

template <int M, typename T>
void convolve(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, int64_t K, int64_t ph, int64_t pw,
              const OutputPass<T>& out, T* y) {
  constexpr int E = (M + 2) * (M + 2);
  const Tiles<M> g{C, H, W, ph, pw, H + 2 * ph - 2, W + 2 * pw - 2};
  const std::vector<T> u = transform_weights<M>(w, K, C);
  const int64_t width = gemm_panel_width<T>();
  // Samples per chunk: about 128 tiles, so that a chunk's transformed inputs and products,
  // α²·(C + K)·tiles values, stay near L2 while its α² GEMMs read and write them — with 512 tiles
  // F(4x4) at 64 channels moved 9 MB a chunk through L3 and ran 11-15 % slower (AVX2, 1 and 2
  // threads); F(2x2) 4-10 %. But at least one chunk per thread, so that every thread has transforms
  // to do. (The chunks change with the thread count, the values do not: each output is the same
  // GEMM sum.)
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t wide = (128 + g.per_sample() - 1) / g.per_sample();
  const int64_t per_chunk = std::clamp<int64_t>(std::min(wide, (N + threads - 1) / threads), 1, N);
  const int64_t chunks = (N + per_chunk - 1) / per_chunk;
#pragma omp parallel if (threads > 1 && chunks >= threads)
  {
    const int64_t max_tiles = per_chunk * g.per_sample(), stride = packed_b_size(C, max_tiles, width);
    thread_local Scratch<T> xp_buffer, v_buffer, m_buffer, d_buffer, rows_buffer;
    T* xp = xp_buffer.get(static_cast<size_t>(per_chunk * C * g.plane()));
    T* v = v_buffer.get(static_cast<size_t>(E * stride));
    T* m = m_buffer.get(static_cast<size_t>(E * K * max_tiles));
    T* d = d_buffer.get(static_cast<size_t>(E * max_tiles));
    T* rows = rows_buffer.get(static_cast<size_t>(M * M * max_tiles));
#pragma omp for schedule(dynamic)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * per_chunk, count = std::min(per_chunk, N - n0), tiles = count * g.per_sample();
      pad_deinterleaved(x + n0 * C * H * W, g, count, xp);
      // The last panel's columns past the tiles are zero (gemm.h's packed layout).
      if (const int64_t last = tiles / width * width; last < tiles)
        for (int e = 0; e < E; ++e)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t t = tiles; t < last + width; ++t) v[e * stride + packed_b_index(c, t, C, width)] = T(0);
      transform_inputs(xp, g, count, width, stride, d, v);
      for (int e = 0; e < E; ++e)
        parallel_gemm_packed_b<T>(false, K, tiles, C, T(1), u.data() + e * K * C, C, v + e * stride, T(0),
                                  m + e * K * tiles, tiles);
      const int64_t at = n0 * K * g.P * g.Q;
      transform_outputs(m, g, count, K, out.shifted(at), rows, y + at);
    }
  }
}

}  // namespace

template <typename T>
void winograd_conv3x3(int m, const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, int64_t K,
                      int64_t ph, int64_t pw, const OutputPass<T>& out, T* y) {
  if (m == 4) return convolve<4>(x, N, C, H, W, w, K, ph, pw, out, y);
  convolve<2>(x, N, C, H, W, w, K, ph, pw, out, y);
}

template void winograd_conv3x3<float>(int, const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                      int64_t, int64_t, const OutputPass<float>&, float*);
template void winograd_conv3x3<double>(int, const double*, int64_t, int64_t, int64_t, int64_t, const double*, int64_t,
                                       int64_t, int64_t, const OutputPass<double>&, double*);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
