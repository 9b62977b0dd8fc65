// Winograd F(2x2, 3x3) convolution on the CPU: the math is in winograd.h.
// Per chunk of samples (enough 4x4 tiles for a GEMM of a useful width): the inputs of every tile
// are transformed straight into GEMM's packed-B layout (gemm.h), the 16 products run, and the
// 4x4 results are transformed back into 2x2 outputs. Threads take whole chunks.
#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "gemm.h"
#include "scratch.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

// U[e][k][c] = (G·g·Gᵀ)[e] for every kernel g = w[k][c] (3x3).
template <typename T>
std::vector<T> transform_weights(const T* w, int64_t K, int64_t C) {
  std::vector<T> u(static_cast<size_t>(16 * K * C));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c) {
      const T* g = w + (k * C + c) * 9;
      T t[4][3];  // G·g: rows
      for (int j = 0; j < 3; ++j) {
        t[0][j] = g[j];
        t[1][j] = T(0.5) * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = T(0.5) * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; ++i) {  // (G·g)·Gᵀ: columns
        const T out[4] = {t[i][0], T(0.5) * (t[i][0] + t[i][1] + t[i][2]), T(0.5) * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
        for (int j = 0; j < 4; ++j) u[((i * 4 + j) * K + k) * C + c] = out[j];
      }
    }
  return u;
}

// The chunk's geometry: tiles of 2x2 outputs, and each channel's input padded so that every
// tile's 4x4 window lies inside it (zeros around). A padded row is stored deinterleaved — its
// even columns, then its odd ones, tw + 1 of each — so that the transform reads column 2·tx + j
// of consecutive tiles as consecutive values: even[tx], odd[tx], even[tx + 1], odd[tx + 1] for
// j = 0..3, and the compiler vectorizes across tiles.
struct Tiles {
  int64_t C, H, W, ph, pw, P, Q;
  int64_t th() const { return (P + 1) / 2; }
  int64_t tw() const { return (Q + 1) / 2; }
  int64_t per_sample() const { return th() * tw(); }
  int64_t Hp() const { return 2 * th() + 2; }
  int64_t row() const { return 2 * (tw() + 1); }  // a padded row: even half, odd half
  int64_t plane() const { return Hp() * row(); }
};

// `count` samples' padded planes xp[i·C + c] (deinterleaved rows, zeros around) from x: every
// value of each plane is written, the pads too (xp is reused scratch).
template <typename T>
void pad_deinterleaved(const T* x, const Tiles& g, int64_t count, T* xp) {
  const int64_t half = g.tw() + 1;
  for (int64_t i = 0; i < count * g.C; ++i) {
    T* plane = xp + i * g.plane();
    std::fill(plane, plane + g.ph * g.row(), T(0));
    std::fill(plane + (g.H + g.ph) * g.row(), plane + g.plane(), T(0));
    for (int64_t h = 0; h < g.H; ++h) {
      const T* src = x + (i * g.H + h) * g.W;
      T* row = plane + (h + g.ph) * g.row();
      std::fill(row, row + g.row(), T(0));
      for (int64_t w = 0; w < g.W; ++w) {
        const int64_t col = w + g.pw;
        row[(col & 1) * half + (col >> 1)] = src[w];
      }
    }
  }
}

// V[e] in packed-B layout (panel width `width`, `stride` elements from one e to the next) for
// the tiles of `count` samples. Within a panel consecutive tiles are consecutive values, so the
// loop over a run of tiles is a vector loop: 16 loads, 16 stores, 32 additions per tile.
template <typename T>
void transform_inputs(const T* xp, const Tiles& g, int64_t count, int64_t width, int64_t stride, T* v) {
  const int64_t half = g.tw() + 1;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t ty = 0; ty < g.th(); ++ty) {
        const T* r0 = xp + (i * g.C + c) * g.plane() + 2 * ty * g.row();
        const T *r1 = r0 + g.row(), *r2 = r1 + g.row(), *r3 = r2 + g.row();
        const int64_t first = i * g.per_sample() + ty * g.tw();
        for (int64_t tx0 = 0; tx0 < g.tw();) {  // a run of tiles inside one panel
          const int64_t tile0 = first + tx0, len = std::min(width - tile0 % width, g.tw() - tx0);
          T* out = v + packed_b_index(c, tile0, g.C, width) - tx0;  // out[e·stride + tx]
#pragma omp simd
          for (int64_t tx = tx0; tx < tx0 + len; ++tx) {
            T d[4][4];
            const T* rows[4] = {r0, r1, r2, r3};
            for (int r = 0; r < 4; ++r) {
              d[r][0] = rows[r][tx];
              d[r][1] = rows[r][half + tx];
              d[r][2] = rows[r][tx + 1];
              d[r][3] = rows[r][half + tx + 1];
            }
            T t[4][4];  // Bᵀ·d: rows
            for (int j = 0; j < 4; ++j) {
              t[0][j] = d[0][j] - d[2][j];
              t[1][j] = d[1][j] + d[2][j];
              t[2][j] = d[2][j] - d[1][j];
              t[3][j] = d[1][j] - d[3][j];
            }
            for (int r = 0; r < 4; ++r) {  // (Bᵀ·d)·B: columns
              out[(r * 4 + 0) * stride + tx] = t[r][0] - t[r][2];
              out[(r * 4 + 1) * stride + tx] = t[r][1] + t[r][2];
              out[(r * 4 + 2) * stride + tx] = t[r][2] - t[r][1];
              out[(r * 4 + 3) * stride + tx] = t[r][1] - t[r][3];
            }
          }
          tx0 += len;
        }
      }
}

// y[i][k] (2x2 per tile, clipped at the edges) = Aᵀ·M·A (+ bias) from m[e][k][tile]: a vector
// loop over a row of tiles into two deinterleaved output rows, interleaved into y after.
template <typename T>
void transform_outputs(const T* m, const Tiles& g, int64_t count, int64_t K, const T* bias, T* y) {
  const int64_t tiles = count * g.per_sample(), P = g.P, Q = g.Q, tw = g.tw(), step = K * tiles;  // step: e to e + 1
  std::vector<T> rows(static_cast<size_t>(4 * tw));  // [output row r][even, odd][tx]
  for (int64_t i = 0; i < count; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const T b = bias ? bias[k] : T(0);
      T* plane = y + (i * K + k) * P * Q;
      for (int64_t ty = 0; ty < g.th(); ++ty) {
        const T* src = m + k * tiles + i * g.per_sample() + ty * tw;
        T* out = rows.data();
#pragma omp simd
        for (int64_t tx = 0; tx < tw; ++tx) {
          T t[2][4];  // Aᵀ·M: rows
          for (int j = 0; j < 4; ++j) {
            const T m0 = src[j * step + tx], m1 = src[(4 + j) * step + tx], m2 = src[(8 + j) * step + tx],
                    m3 = src[(12 + j) * step + tx];
            t[0][j] = m0 + m1 + m2;
            t[1][j] = m1 - m2 - m3;
          }
          for (int r = 0; r < 2; ++r) {
            out[(2 * r) * tw + tx] = t[r][0] + t[r][1] + t[r][2] + b;
            out[(2 * r + 1) * tw + tx] = t[r][1] - t[r][2] - t[r][3] + b;
          }
        }
        for (int r = 0; r < 2 && 2 * ty + r < P; ++r) {
          T* dst = plane + (2 * ty + r) * Q;
          const T *even = out + 2 * r * tw, *odd = even + tw;
          for (int64_t q = 0; q < Q; ++q) dst[q] = (q & 1) ? odd[q >> 1] : even[q >> 1];
        }
      }
    }
}

}  // namespace

template <typename T>
void winograd_conv3x3(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, int64_t K, int64_t ph,
                      int64_t pw, const T* bias, T* y) {
  const Tiles g{C, H, W, ph, pw, H + 2 * ph - 2, W + 2 * pw - 2};
  const std::vector<T> u = transform_weights(w, K, C);
  const int64_t width = gemm_panel_width<T>();
  // Samples per chunk: about 512 tiles, a GEMM wide enough to run near its peak — but at least one
  // chunk per thread, so that every thread has transforms to do.
  // (The chunks change with the thread count, the values do not: each output is the same GEMM sum.)
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t wide = (512 + g.per_sample() - 1) / g.per_sample();
  const int64_t per_chunk = std::clamp<int64_t>(std::min(wide, (N + threads - 1) / threads), 1, N);
  const int64_t chunks = (N + per_chunk - 1) / per_chunk;
#pragma omp parallel if (threads > 1 && chunks >= threads)
  {
    const int64_t max_tiles = per_chunk * g.per_sample(), stride = packed_b_size(C, max_tiles, width);
    thread_local Scratch<T> xp_buffer, v_buffer, m_buffer;
    T* xp = xp_buffer.get(static_cast<size_t>(per_chunk * C * g.plane()));
    T* v = v_buffer.get(static_cast<size_t>(16 * stride));
    T* m = m_buffer.get(static_cast<size_t>(16 * K * max_tiles));
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * per_chunk, count = std::min(per_chunk, N - n0), tiles = count * g.per_sample();
      pad_deinterleaved(x + n0 * C * H * W, g, count, xp);
      // The last panel's columns past the tiles are zero (gemm.h's packed layout).
      if (const int64_t last = tiles / width * width; last < tiles)
        for (int e = 0; e < 16; ++e)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t t = tiles; t < last + width; ++t) v[e * stride + packed_b_index(c, t, C, width)] = T(0);
      transform_inputs(xp, g, count, width, stride, v);
      for (int e = 0; e < 16; ++e)
        parallel_gemm_packed_b<T>(false, K, tiles, C, T(1), u.data() + e * K * C, C, v + e * stride, T(0),
                                  m + e * K * tiles, tiles);
      transform_outputs(m, g, count, K, bias, y + n0 * K * g.P * g.Q);
    }
  }
}

template void winograd_conv3x3<float>(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                      int64_t, const float*, float*);
template void winograd_conv3x3<double>(const double*, int64_t, int64_t, int64_t, int64_t, const double*, int64_t,
                                       int64_t, int64_t, const double*, double*);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
