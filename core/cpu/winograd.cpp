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
#include "parallel.h"
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

// y = A·x, the adjoint of the output transform (the weight gradient's transform of dy): M + 2
// values from M.
template <int M, typename T>
inline void output_adjoint_1d(const T (&x)[M], T (&y)[M + 2]) {
  if constexpr (M == 2) {  // A = (Aᵀ)ᵀ, Aᵀ as in output_1d
    y[0] = x[0];
    y[1] = x[0] + x[1];
    y[2] = x[0] - x[1];
    y[3] = -x[1];
  } else {
    const T a = x[0] + x[2], b = x[1] + x[3], c = x[0] + T(4) * x[2], d = T(2) * x[1] + T(8) * x[3];
    y[0] = x[0];
    y[1] = a + b;
    y[2] = a - b;
    y[3] = c + d;
    y[4] = c - d;
    y[5] = x[3];
  }
}

// y = G′·x, the weight transform of 3 taps scaled to small integers, G′ = d·G: U = G·g·Gᵀ =
// G′·g·G′ᵀ / d², the integer matrix G′ ⊗ G′ (KernelTransform) and one scale by 1 / d² instead of
// F(4x4)'s 1/24, 1/12, ⅙ in every coefficient.
template <int M>
constexpr double kWeightDenominator = M == 2 ? 2 : 24;

template <int M>
inline void weight_1d(const double (&x)[3], double (&y)[M + 2]) {
  if constexpr (M == 2) {  // G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], G′ = 2·G
    y[0] = 2 * x[0];
    y[1] = x[0] + x[1] + x[2];
    y[2] = x[0] - x[1] + x[2];
    y[3] = 2 * x[2];
  } else {  // G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1], G′ = 24·G
    y[0] = 6 * x[0];
    y[1] = -4 * (x[0] + x[1] + x[2]);
    y[2] = -4 * (x[0] - x[1] + x[2]);
    y[3] = x[0] + 2 * x[1] + 4 * x[2];
    y[4] = x[0] - 2 * x[1] + 4 * x[2];
    y[5] = 24 * x[2];
  }
}

// y = G′ᵀ·x, the adjoint of weight_1d (the weight gradient's last transform): 3 taps from M + 2.
template <int M>
inline void weight_adjoint_1d(const double (&x)[M + 2], double (&y)[3]) {
  if constexpr (M == 2) {
    y[0] = 2 * x[0] + x[1] + x[2];
    y[1] = x[1] - x[2];
    y[2] = x[1] + x[2] + 2 * x[3];
  } else {
    y[0] = 6 * x[0] - 4 * (x[1] + x[2]) + x[3] + x[4];
    y[1] = 4 * (x[2] - x[1]) + 2 * (x[3] - x[4]);
    y[2] = -4 * (x[1] + x[2]) + 4 * (x[3] + x[4]) + 24 * x[5];
  }
}

// U[e][k·C + c] = (G·g·Gᵀ)[e] for every kernel g = w[k][c] (3x3), e < α²: linear in g's 9 taps,
// U[e] = Σ_tap (G′ ⊗ G′)[e][tap] · g[tap] / d², so the kernels of output channels [k_first,
// k_last) take one GEMM, U = (G′ ⊗ G′) · Wᵀ / d², W's rows the kernels as they lie in w (9 taps
// each; GEMM's packing turns them with 4 x 4 transposes). Flipped kernels (KernelLayout), g[tap] =
// w[c][k][8 − tap], are W's rows k·9 apart with G′ ⊗ G′'s columns reversed: a GEMM per k. (A
// vector loop over 16 kernels at a time in double, reading each kernel's taps one by one, spent
// most of its time in those reads: 7 % of a 64-channel F(4x4) forward at 8² on AVX-512, about what
// its GEMMs took; backward-data flipped a copy of the weights first.) The products' rounding in T
// adds ~1 ulp of U to what the transforms of the inputs round.
template <int M, typename T>
struct KernelTransform {
  static constexpr int E = (M + 2) * (M + 2);
  T g[E][9], flipped[E][9];  // G′ ⊗ G′ (integers), and with its columns reversed
  KernelTransform() {
    constexpr int A = M + 2;
    double columns[3][A];  // G′'s columns: weight_1d of the unit vectors
    for (int r = 0; r < 3; ++r) {
      double unit[3] = {0, 0, 0};
      unit[r] = 1;
      weight_1d<M>(unit, columns[r]);
    }
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < A; ++j)
        for (int tap = 0; tap < 9; ++tap) {
          g[i * A + j][tap] = static_cast<T>(columns[tap / 3][i] * columns[tap % 3][j]);
          flipped[i * A + j][8 - tap] = g[i * A + j][tap];
        }
  }
};

template <int M, typename T>
void transform_weights(const T* w, KernelLayout layout, int64_t K, int64_t C, int64_t k_first, int64_t k_last, T* u) {
  using KT = KernelTransform<M, T>;
  static const KT transform;
  const T scale = static_cast<T>(1 / (kWeightDenominator<M> * kWeightDenominator<M>));
  if (layout == KernelLayout::Forward)
    return gemm<T>(false, true, KT::E, (k_last - k_first) * C, 9, scale, &transform.g[0][0], 9, w + k_first * C * 9, 9,
                   T(0), u + k_first * C, K * C);
  for (int64_t k = k_first; k < k_last; ++k)  // w[c][k]: W's rows for this k are K·9 apart
    gemm<T>(false, true, KT::E, C, 9, scale, &transform.flipped[0][0], 9, w + k * 9, K * 9, T(0), u + k * C, K * C);
}

// A distance between the α² streams that the transforms read and write at once (d[e], V[e], M[e],
// rows[·]), at least n values: an odd number of cache lines, so that the streams fall in different
// L1 sets. At 128 tiles and 64 channels V's and M's natural distances are 32 KB, a multiple of the
// 4 KB that maps to one set: 36 streams in one 8-way set evicted each other at every value
// (F(4x4) forward, 1 thread, 16 to 64 channels: 1.05-1.27x faster spread).
template <typename T>
int64_t spread(int64_t n) {
  constexpr int64_t line = 64 / sizeof(T);
  const int64_t lines = (n + line - 1) / line;
  return (lines | 1) * line;
}

// The tiling of a P x Q output into M x M tiles (the last row and column of tiles clipped); tile
// (ty, tx) reads the α x α input window whose corner is input row M·ty − ph, column M·tx − pw
// (zeros outside the input). The windows' geometry is in Windows.
template <int M>
struct Tiles {
  int64_t P, Q;
  int64_t th() const { return (P + M - 1) / M; }
  int64_t tw() const { return (Q + M - 1) / M; }
  int64_t per_sample() const { return th() * tw(); }
};

// A sample's S x S windows of one channel's plane (rows x cols values), one per tile: window
// (ty, tx) has its corner at row M·ty − top, column M·tx − left, values outside the plane zero. The
// plane is first copied into a zero-bordered buffer (`fill`) in which every window lies whole, a
// window row within a run of 8 columns, so that `gather` reads four windows' rows as vectors and
// turns them by 4 x 4 transposes (copy.h) — where a table of moves, a value at a time (which this
// file used before), cost ~1.3 cycles per value, ~10 % of a resnet20 training step.
// The inputs' windows are α x α (S = M + 2, the padding around), the output gradient's are its
// M x M tiles (S = M, zeros past the far edges).
template <int M, int S>
struct Windows {
  static_assert(S <= 8, "a window row is read as at most two runs of 4");
  int64_t top, left, rows, cols;
  int64_t brows, bcols;         // the buffer
  std::vector<int64_t> corner;  // of each tile's window in the buffer

  Windows(const Tiles<M>& g, int64_t top_, int64_t left_, int64_t rows_, int64_t cols_)
      : top(top_), left(left_), rows(rows_), cols(cols_),
        brows(std::max(M * (g.th() - 1) + S, top + rows)), bcols(std::max(M * (g.tw() - 1) + 8, left + cols)) {
    for (int64_t ty = 0; ty < g.th(); ++ty)
      for (int64_t tx = 0; tx < g.tw(); ++tx) corner.push_back(M * ty * bcols + M * tx);
  }
  int64_t size() const { return brows * bcols; }
  // The plane into the buffer's inside; its border stays as the caller cleared it, zero.
  template <typename T>
  void fill(const T* plane, T* buffer) const {
    const int64_t n = rows, width = cols, row = bcols;  // locals: see gather
    T* out = buffer + top * row + left;
    for (int64_t h = 0; h < n; ++h) copy_short(plane + h * width, width, out + h * row);
  }
  // d[(r·S + j)·ds + tile] = row r, column j of the tile's window, for the sample's tiles.
  // (Members and corners are read into locals first: d's stores may alias anything, so GCC would
  // reload them from memory after each store.)
  template <typename T>
  void gather(const T* buffer, int64_t ds, T* d) const {
    using Q = Quad<T>;
    const auto tiles = static_cast<int64_t>(corner.size());
    const int64_t* corners = corner.data();
    const int64_t row = bcols;
    int64_t t = 0;
    for (; t + 4 <= tiles; t += 4) {
      const T* at[4];
      for (int i = 0; i < 4; ++i) at[i] = buffer + corners[t + i];
      for (int r = 0; r < S; ++r)
        for (int j0 = 0; j0 < S; j0 += 4) {  // columns j0 to j0 + 3 of four windows' row r
          typename Q::type q[4] = {Q::load(at[0] + r * row + j0), Q::load(at[1] + r * row + j0),
                                   Q::load(at[2] + r * row + j0), Q::load(at[3] + r * row + j0)};
          transpose4<T>(q);
          for (int j = j0; j < std::min(j0 + 4, S); ++j) Q::store(d + (r * S + j) * ds + t, q[j - j0]);
        }
    }
    for (; t < tiles; ++t)  // the last 1 to 3 tiles
      for (int r = 0; r < S; ++r)
        for (int j = 0; j < S; ++j) d[(r * S + j) * ds + t] = buffer[corner[t] + r * bcols + j];
  }
};

// The scatter of a sample's M x M output tiles of one channel, rows[(r·M + j)·rs + tile] (output
// row r, column j of the tile), into its P x Q plane, clipped at the far edges: four tiles' rows
// at a time by a 4 x 4 transpose, as the gather.
template <int M>
struct OutputTiles {
  Tiles<M> g;
  std::vector<int64_t> corner;  // of each tile in the plane
  std::vector<char> whole;      // not clipped

  explicit OutputTiles(const Tiles<M>& g_) : g(g_) {
    for (int64_t ty = 0; ty < g.th(); ++ty)
      for (int64_t tx = 0; tx < g.tw(); ++tx) {
        corner.push_back(M * ty * g.Q + M * tx);
        whole.push_back(M * ty + M <= g.P && M * tx + M <= g.Q);
      }
  }
  // (Members and corners are read into locals first, as in Windows::gather.)
  template <typename T>
  void scatter(const T* rows, int64_t rs, T* y) const {
    using Q = Quad<T>;
    const auto tiles = static_cast<int64_t>(corner.size());
    const int64_t* corners = corner.data();
    const int64_t row = g.Q;
    for (int64_t t = 0; t < tiles; t += 4) {
      if (t + 4 <= tiles && whole[t] && whole[t + 1] && whole[t + 2] && whole[t + 3]) {
        T* at[4];
        for (int i = 0; i < 4; ++i) at[i] = y + corners[t + i];
        for (int r = 0; r < M; ++r) {  // row r of four tiles: streams j = 0 .. M − 1 → runs of M
          typename Q::type q[4] = {};
          for (int j = 0; j < M; ++j) q[j] = Q::load(rows + (r * M + j) * rs + t);
          transpose4<T>(q);
          for (int i = 0; i < 4; ++i) {
            T* dst = at[i] + r * row;
            if constexpr (M == 4)
              Q::store(dst, q[i]);
            else
              dst[0] = q[i][0], dst[1] = q[i][1];
          }
        }
        continue;
      }
      for (int64_t u = t; u < std::min(t + 4, tiles); ++u) {  // clipped at the far edges, or the last 1 to 3
        const int64_t ty = u / g.tw(), tx = u % g.tw();
        for (int64_t r = 0; r < std::min<int64_t>(M, g.P - M * ty); ++r)
          for (int64_t j = 0; j < std::min<int64_t>(M, g.Q - M * tx); ++j)
            y[corner[u] + r * g.Q + j] = rows[(r * M + j) * rs + u];
      }
    }
  }
};

// The α x α transforms of the S x S windows of `count` samples' planes src[count, channels,
// plane], for the channels [c_first, c_last), a channel at a time, into out[e·stride + ...] in
// GEMM's packed-B layout (panel width `width`; a width of at least the tiles is row-major with
// rows `width` apart): with S = M + 2
// the inputs' V = Bᵀ·d·B (the forward's, the weight gradient's), with S = M the output gradient's
// A·dy·Aᵀ (the weight gradient's). Each channel's windows are first gathered into
// d[(r·S + j)·ds + tile] (`windows`, through the zero-bordered `buffer`), so that the transform is
// a vector loop over every tile of the chunk, however short a row of tiles is. (A vector loop
// along a row of tiles ran half-empty where rows are short: 4 tiles at 8x8 with F(2x2), half an
// AVX2 vector, and scalar bookkeeping per row.)
template <int M, int S, typename T>
void transform_windows(const T* src, int64_t channels, int64_t c_first, int64_t c_last, int64_t plane,
                       int64_t per_sample, int64_t count, const Windows<M, S>& windows, int64_t ds, int64_t width,
                       int64_t stride, T* buffer, T* d, T* v) {
  constexpr int A = M + 2;
  static_assert(S == A || S == M, "windows of the inputs (α x α) or of the output gradient (M x M)");
  const int64_t tiles = count * per_sample;
  for (int64_t c = c_first; c < c_last; ++c) {
    for (int64_t i = 0; i < count; ++i) {
      windows.fill(src + (i * channels + c) * plane, buffer);
      windows.gather(buffer, ds, d + i * per_sample);
    }
    for (int64_t t0 = 0; t0 < tiles; t0 += width) {  // a panel's tiles are consecutive values of V
      const int64_t len = std::min(width, tiles - t0);
      T* out = v + packed_b_index(c, t0, channels, width) - t0;  // out[e·stride + t]
#pragma omp simd
      for (int64_t t = t0; t < t0 + len; ++t) {
        T u[A][S];  // the columns' transforms
#pragma GCC unroll 8
        for (int j = 0; j < S; ++j) {
          T col[S], y[A];
#pragma GCC unroll 8
          for (int r = 0; r < S; ++r) col[r] = d[(r * S + j) * ds + t];
          if constexpr (S == A)
            input_1d<M>(col, y);
          else
            output_adjoint_1d<M>(col, y);
#pragma GCC unroll 8
          for (int r = 0; r < A; ++r) u[r][j] = y[r];
        }
#pragma GCC unroll 8
        for (int r = 0; r < A; ++r) {  // then the rows'
          T y[A];
          if constexpr (S == A)
            input_1d<M>(u[r], y);
          else
            output_adjoint_1d<M>(u[r], y);
#pragma GCC unroll 8
          for (int j = 0; j < A; ++j) out[(r * A + j) * stride + t] = y[j];
        }
      }
    }
  }
}

// y[i][k] (M x M per tile, clipped at the edges) = Aᵀ·m·A through `out` from m[e][k][tile]
// (`step` values from one e to the next): per output channel a vector loop over every tile of the
// chunk into rows[(r·M + j)·rs + tile] (output row r of the tile, column j), scattered into y's
// planes after (`tiles_out`).
template <int M, typename T>
void transform_outputs(const T* m, int64_t step, const Tiles<M>& g, int64_t count, int64_t K,
                       const OutputTiles<M>& tiles_out, int64_t rs, const OutputPass<T>& out, T* rows, T* y) {
  constexpr int A = M + 2;
  const int64_t tiles = count * g.per_sample(), pq = g.P * g.Q;
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
        for (int j = 0; j < M; ++j) rows[(r * M + j) * rs + t] = o[j];
      }
    }
    for (int64_t i = 0; i < count; ++i) {
      const int64_t at = (i * K + k) * pq;
      tiles_out.scatter(rows + i * g.per_sample(), rs, y + at);
      if (!out.trivial()) out.row(y + at, pq, k, at, y + at);
    }
  }
}

template <int M, typename T>
void convolve(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, KernelLayout layout, int64_t K,
              int64_t ph, int64_t pw,
              const OutputPass<T>& out, T* y) {
  constexpr int E = (M + 2) * (M + 2);
  const Tiles<M> g{H + 2 * ph - 2, W + 2 * pw - 2};  // P, Q
  thread_local Scratch<T> u_buffer;  // the calling thread's, shared by the team
  T* u = u_buffer.get(static_cast<size_t>(E * K * C));
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
  const int64_t max_tiles = per_chunk * g.per_sample(), ts = spread<T>(max_tiles);  // ts: d's and rows' ds, rs
  const Windows<M, M + 2> inputs(g, ph, pw, H, W);
  const OutputTiles<M> outputs(g);
  SampleShares shares(chunks);
#pragma omp parallel if (threads > 1 && chunks >= threads)
  {
    const int64_t stride = spread<T>(packed_b_size(C, max_tiles, width)), step = spread<T>(K * max_tiles);
    thread_local Scratch<T> v_buffer, m_buffer, d_buffer, rows_buffer, plane_buffer;
    T* v = v_buffer.get(static_cast<size_t>(E * stride));
    T* m = m_buffer.get(static_cast<size_t>(E * step));
    T* d = d_buffer.get(static_cast<size_t>(E * ts));
    T* rows = rows_buffer.get(static_cast<size_t>(M * M * ts));
    T* plane = plane_buffer.get(static_cast<size_t>(inputs.size()));
    std::fill(plane, plane + inputs.size(), T(0));  // the border of zeros around the input (Windows)
    const int64_t block = std::max<int64_t>(1, 256 / C);  // output channels a thread takes: ~256 kernels
#pragma omp for schedule(static)
    for (int64_t k0 = 0; k0 < K; k0 += block) transform_weights<M>(w, layout, K, C, k0, std::min(K, k0 + block), u);
    shares.run([&](int64_t chunk) {
      const int64_t n0 = chunk * per_chunk, count = std::min(per_chunk, N - n0), tiles = count * g.per_sample();
      // The last panel's columns past the tiles are zero (gemm.h's packed layout).
      if (const int64_t last = tiles / width * width; last < tiles)
        for (int e = 0; e < E; ++e)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t t = tiles; t < last + width; ++t) v[e * stride + packed_b_index(c, t, C, width)] = T(0);
      transform_windows<M, M + 2>(x + n0 * C * H * W, C, 0, C, H * W, g.per_sample(), count, inputs, ts, width, stride,
                                  plane, d, v);
      for (int e = 0; e < E; ++e)
        parallel_gemm_packed_b<T>(false, K, tiles, C, T(1), u + e * K * C, C, v + e * stride, T(0),
                                  m + e * step, tiles);
      const int64_t at = n0 * K * g.P * g.Q;
      const OutputPass<T> chunk_out = out.shifted(at);
      transform_outputs(m, step, g, count, K, outputs, ts, chunk_out, rows, y + at);
      chunk_out.samples(y + at, count, K, g.P * g.Q);
    });
  }
}

// Tiles per chunk of the weight gradient: its transforms, α²·(C + K)·tiles values, and its GEMMs'
// depth. On the AVX-512 VM, 1 and 2 threads, batch 32 and 128: 64, 128 and 256 within noise for
// 32 and 64 channels at 32², 16² and 8².
constexpr int64_t kWeightGradTiles = 128;
// Chunks at the least, so that two threads have one each: at 8² (4 tiles per sample) a batch of 32
// was one chunk of 128 tiles, and one thread did all the work. The count is fixed, not the
// thread count, so that the sum does not depend on it; more chunks cost more of the ranges' partial
// sums (α²·K·C values each, 590 KB at 64 channels). AVX-512 VM, 64 → 64 channels at 8², batch
// 32, ms on 1 / 2 threads, at least 1, 2, 4, 8 chunks: 0.55 / 0.63, 0.53 / 0.37, 0.60 / 0.45,
// 0.73 / 0.65 (32 at 16², 4 chunks already: the same within noise).
constexpr int64_t kWeightGradMinChunks = 2;

// dw[K, C, 3, 3] = Σ over samples and tiles of Gᵀ·(A·dy·Aᵀ ⊙ Bᵀ·d·B)·G. The chunks of samples are
// cut into sum_over_samples' fixed ranges (parallel.h: the sum does not depend on the thread
// count), and a thread takes a whole range: per chunk it transforms the inputs' and the output
// gradient's tiles (row-major, tiles along the rows) and runs the α² GEMMs
// dU[e][k][c] += dM[e][k][:] · V[e][c][:] on what it has just written. (Threads had shared each
// chunk — channels' transforms, then whole products — and every GEMM read rows the other core had
// written: on the 2-core AVX-512 VM 2 threads ran no faster than 1, or slower: 1.65 → 1.78 ms for
// 16 channels at 32², batch 32.) At the end dw = G′ᵀ·dU·G′ / d², in double.
template <int M, typename T>
void weight_grad(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* dy, int64_t K, int64_t ph,
                 int64_t pw, T* dw) {
  constexpr int A = M + 2, E = A * A;
  const Tiles<M> g{H + 2 * ph - 2, W + 2 * pw - 2};  // P, Q
  const int64_t ps = g.per_sample(), pq = g.P * g.Q;
  // Chunks of about kWeightGradTiles tiles, and at least kWeightGradMinChunks of them (when there
  // are as many samples), fixed whatever the thread count.
  const int64_t most = std::max<int64_t>(1, (N + kWeightGradMinChunks - 1) / kWeightGradMinChunks);
  const int64_t per_chunk = std::clamp<int64_t>((kWeightGradTiles + ps - 1) / ps, 1, most);
  const Windows<M, A> inputs(g, ph, pw, H, W);
  const Windows<M, M> grads(g, 0, 0, g.P, g.Q);
  thread_local Scratch<T> du_buffer;  // dU[e][k][c], the calling thread's
  T* du = du_buffer.get(static_cast<size_t>(E * K * C));
  const int64_t chunks = (N + per_chunk - 1) / per_chunk;
  sum_over_samples<T>(chunks, E * K * C, du, [&](int64_t chunk0, int64_t chunk1, T* acc) {
    const int64_t first = chunk0 * per_chunk, last = std::min(N, chunk1 * per_chunk);
    const int64_t ts = spread<T>(std::min(per_chunk, last - first) * ps);
    const int64_t vstride = spread<T>(C * ts), mstep = spread<T>(K * ts);
    thread_local Scratch<T> v_buffer, m_buffer, d_buffer, x_plane, dy_plane;
    T* v = v_buffer.get(static_cast<size_t>(E * vstride));  // V[e][c][tile]
    T* m = m_buffer.get(static_cast<size_t>(E * mstep));    // dM[e][k][tile]
    T* d = d_buffer.get(static_cast<size_t>(E * ts));       // gathered windows
    T* xp = x_plane.get(static_cast<size_t>(inputs.size()));  // the zero-bordered planes
    T* dyp = dy_plane.get(static_cast<size_t>(grads.size()));
    std::fill(xp, xp + inputs.size(), T(0));
    std::fill(dyp, dyp + grads.size(), T(0));
    for (int64_t n0 = first; n0 < last; n0 += per_chunk) {
      const int64_t count = std::min(per_chunk, last - n0), tiles = count * ps;
      transform_windows<M, A>(x + n0 * C * H * W, C, 0, C, H * W, ps, count, inputs, ts, ts, vstride, xp, d, v);
      transform_windows<M, M>(dy + n0 * K * pq, K, 0, K, pq, ps, count, grads, ts, ts, mstep, dyp, d, m);
      for (int e = 0; e < E; ++e)  // the range's first chunk writes acc, the others add
        gemm<T>(false, true, K, C, tiles, T(1), m + e * mstep, ts, v + e * vstride, ts, n0 == first ? T(0) : T(1),
                acc + e * K * C, C);
    }
  });
  // dw = G′ᵀ·dU·G′ / d², threads taking output channels, 16 input channels at a time (a vector
  // loop; dU's α² values of a kernel are K·C apart, so a cache line of each is read at once).
  constexpr int64_t kBlock = 16;
  constexpr double d2 = kWeightDenominator<M> * kWeightDenominator<M>;
#pragma omp parallel for schedule(static) if (E * K * C > kParallelGrain)
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
      const int64_t n = std::min(kBlock, C - c0);
      double block[E][kBlock];
      for (int e = 0; e < E; ++e)
        for (int64_t c = 0; c < n; ++c) block[e][c] = du[(e * K + k) * C + c0 + c];
      T out9[9][kBlock];
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) {
        double t[3][A];  // G′ᵀ·dU, a column at a time
#pragma GCC unroll 8
        for (int j = 0; j < A; ++j) {
          double col[A], out[3];
#pragma GCC unroll 8
          for (int r = 0; r < A; ++r) col[r] = block[r * A + j][c];
          weight_adjoint_1d<M>(col, out);
#pragma GCC unroll 3
          for (int i = 0; i < 3; ++i) t[i][j] = out[i];
        }
#pragma GCC unroll 3
        for (int i = 0; i < 3; ++i) {  // (G′ᵀ·dU)·G′, a row at a time
          double out[3];
          weight_adjoint_1d<M>(t[i], out);
#pragma GCC unroll 3
          for (int j = 0; j < 3; ++j) out9[i * 3 + j][c] = static_cast<T>(out[j] / d2);
        }
      }
      for (int64_t c = 0; c < n; ++c)
        for (int tap = 0; tap < 9; ++tap) dw[(k * C + c0 + c) * 9 + tap] = out9[tap][c];
    }
}

}  // namespace

template <typename T>
void winograd_weight_grad3x3(int m, const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* dy, int64_t K,
                             int64_t ph, int64_t pw, T* dw) {
  if (m == 4) return weight_grad<4>(x, N, C, H, W, dy, K, ph, pw, dw);
  weight_grad<2>(x, N, C, H, W, dy, K, ph, pw, dw);
}

template void winograd_weight_grad3x3<float>(int, const float*, int64_t, int64_t, int64_t, int64_t, const float*,
                                             int64_t, int64_t, int64_t, float*);
template void winograd_weight_grad3x3<double>(int, const double*, int64_t, int64_t, int64_t, int64_t, const double*,
                                              int64_t, int64_t, int64_t, double*);

template <typename T>
void winograd_conv3x3(int m, const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* w, KernelLayout layout,
                      int64_t K, int64_t ph, int64_t pw, const OutputPass<T>& out, T* y) {
  if (m == 4) return convolve<4>(x, N, C, H, W, w, layout, K, ph, pw, out, y);
  convolve<2>(x, N, C, H, W, w, layout, K, ph, pw, out, y);
}

template void winograd_conv3x3<float>(int, const float*, int64_t, int64_t, int64_t, int64_t, const float*, KernelLayout,
                                      int64_t, int64_t, int64_t, const OutputPass<float>&, float*);
template void winograd_conv3x3<double>(int, const double*, int64_t, int64_t, int64_t, int64_t, const double*,
                                       KernelLayout, int64_t, int64_t, int64_t, const OutputPass<double>&, double*);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
