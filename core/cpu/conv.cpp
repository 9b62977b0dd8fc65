// Conv2d on the CPU, one sample at a time, OpenMP over the samples.
// Dims: N batch, C in channels, H W input size, K out channels, R S kernel size, P Q output size.
//
// A convolution is the product y[K, PQ] = w[K, CRS] · col, where im2col's matrix col[CRS, PQ]
// holds in row (c, r, s) the input values that tap (r, s) of channel c meets at every output.
// This file never builds col (the "shifted windows" method). Stride 1 first: pad the input once
// to xp and compute the output over padded-width rows, y'[K, P·Wp]. Then column j of col's row
// (c, r, s) is xp[c·plane + r·Wp + s + j]: each row of col is a window of xp at a fixed offset,
// and GEMM reads it in place (gemm_shifted_b). The extra columns of each output row are dropped
// when y' is copied to y. Neighbours share their zero borders: a row of xp is pad_w zeros then W
// values (Wp = W + pad_w: the zeros right of row h are those left of row h + 1), a plane is pad_h
// zero rows then H rows (its bottom border is the next plane's top). Every column computed but
// dropped is a multiply-add wasted: at 8x8 images, 72 columns per channel rather than 80.
// A stride s cuts each channel into its s² phases, x[c, a + s·i, b + s·j]: the input row
// s·p + r − pad that tap r reads is row p + dr of phase a, where r − pad = s·dr + a — a window
// again, of a phase plane (InputPlanes). So every tap, of any stride and padding, is a plane and
// a shift (Tap), and one padded layout serves them all (ShiftedLayout). The backward pass uses
// the same products:
//   dx: phase (a, b) of dx is the taps of that phase of wᵀ times windows of padded dy (with
//       stride 1: one phase, every tap — the forward of dy with w flipped, K and C swapped);
//   dw[k, tap] += Σ_j dy'[k, j] · xp[offset(tap) + j], dy' being dy in padded-width rows with
//       zeros in the dropped columns (gemm_rows_dot, or gemm_windows_a transposed).
// For 16 to 64 channels this moves ~9× less memory than im2col + GEMM + col2im, which this file
// used before (see bench/RESULTS.md). A 1x1 kernel without padding is a plain GEMM: col is the
// input itself (stride 1) or its phase (0, 0), gathered (pointwise_input).
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "conv_output.h"
#include "copy.h"
#include "gemm.h"
#include "scratch.h"
#include "winograd.h"
#include "../kernels/conv.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

struct Geometry {
  int64_t N, C, H, W, K, R, S, P, Q;
  kernels::Window2d win;
  int64_t crs() const { return C * R * S; }
  int64_t pq() const { return P * Q; }
  /// A 1x1 kernel without padding: a plain product with the input (pointwise_input).
  bool pointwise() const { return R == 1 && S == 1 && win.pad_h == 0 && win.pad_w == 0; }
  bool unit_stride() const { return win.stride_h == 1 && win.stride_w == 1; }
};

Geometry geometry(const Tensor& x, const Tensor& w, const kernels::Window2d& win) {
  const int64_t H = x.size(2), W = x.size(3), R = w.size(2), S = w.size(3);
  return {x.size(0), x.size(1), H, W, w.size(0), R, S, kernels::Window2d::out_size(H, R, win.stride_h, win.pad_h),
          kernels::Window2d::out_size(W, S, win.stride_w, win.pad_w), win};
}

// dbias[k] = Σ_{n, p, q} dy[n, k, p, q], accumulated in double.
template <typename T>
void bias_grad(const T* dy, const Geometry& g, T* dbias) {
  const int64_t pq = g.pq();
#pragma omp parallel for if (g.N * g.K * pq > kParallelGrain)
  for (int64_t k = 0; k < g.K; ++k) {
    double total = 0;
    for (int64_t n = 0; n < g.N; ++n) {
      const T* row = dy + (n * g.K + k) * pq;
#pragma omp simd reduction(+ : total)
      for (int64_t i = 0; i < pq; ++i) total += row[i];
    }
    dbias[k] = static_cast<T>(total);
  }
}

// Threads split the batch when there are enough samples; otherwise each GEMM is split instead.
// They take samples (and the weight gradient's ranges, Winograd's chunks) by SampleShares
// (parallel.h): each its static share first, for the cache, then what is left of the other's —
// not fixed shares alone: beside a busy process one of them may be descheduled for milliseconds,
// and the other would wait for its share at the barrier (resnet20 BN b32 training beside a
// 1-thread training, 2 threads ÷ 1 thread: 0.89 with fixed shares, 0.97 taking samples as they
// came). Each sample's work writes its own outputs, so the values do not depend on which thread
// did it.
bool split_batch(int64_t n) { return n >= omp_get_max_threads(); }

// ---- 1x1 convolutions without padding: plain products ----

// What a 1x1 convolution without padding multiplies, [C, P·Q] of sample n: with stride 1 the
// input itself; with a larger stride its phase (0, 0), x[c, sh·i, sw·j], gathered here into this
// thread's scratch (valid until its next call) — a GEMM over contiguous rows. (As a shifted
// product, which reads the phase's plane rows in place, the strided 1x1 layers of preresnet29 ran
// at 40-60 % of the GEMM's speed: 64 and 128 rows 1 KB apart miss in L1.)
template <typename T>
const T* pointwise_input(const T* x, const Geometry& g, int64_t n) {
  const T* xn = x + n * g.C * g.H * g.W;
  if (g.unit_stride()) return xn;
  thread_local Scratch<T> gathered;
  T* xs = gathered.get(static_cast<size_t>(g.C * g.pq()));
  const int64_t sh = g.win.stride_h, sw = g.win.stride_w;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.P; ++i) {
      const T* row = xn + (c * g.H + i * sh) * g.W;
      T* out = xs + (c * g.P + i) * g.Q;
      if (sw == 2)  // a constant stride: vectorized (two loads, one shuffle per vector)
        for (int64_t j = 0; j < g.Q; ++j) out[j] = row[2 * j];
      else
        for (int64_t j = 0; j < g.Q; ++j) out[j] = row[j * sw];
    }
  return xs;
}

// dx of sample n from the product's [C, P·Q] (stride > 1): the values at (sh·i, sw·j), zeros
// at every other position (the input values the convolution skipped get no gradient).
template <typename T>
void scatter_pointwise(const T* product, const Geometry& g, T* dxn) {
  const int64_t sh = g.win.stride_h, sw = g.win.stride_w;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t h = 0; h < g.H; ++h) {
      T* row = dxn + (c * g.H + h) * g.W;
      std::fill(row, row + g.W, T(0));
      if (h % sh || h / sh >= g.P) continue;
      const T* src = product + (c * g.P + h / sh) * g.Q;
      for (int64_t j = 0; j < g.Q; ++j) row[j * sw] = src[j];
    }
}

// ---- convolutions as shifted products (see the top of the file) ----

// x / d rounded towards −∞ (a kernel row r − pad may be negative).
int64_t floor_div(int64_t x, int64_t d) { return x >= 0 ? x / d : -((-x + d - 1) / d); }

// Tap (r, s) of a stride-(sh, sw) kernel padded by (ph, pw) reads input row sh·p + r − ph: the
// row p + dr of phase a, where r − ph = sh·dr + a, 0 ≤ a < sh (and the same for columns).
struct Phase {
  int64_t a, dr;
};
Phase phase_of(int64_t r, int64_t pad, int64_t stride) {
  const int64_t dr = floor_div(r - pad, stride);
  return {r - pad - stride * dr, dr};
}

// A term of a shifted product: output (i, j) reads input plane `plane` at (i + di, j + dj).
struct Tap {
  int64_t plane, di, dj;
};

// The padded copy a shifted product reads windows of (see the top of the file): per sample,
// `planes` input planes of at most IH × IW values, each laid out as `top` zero rows, then IH rows
// of `left` zeros and IW values (zeros past a smaller plane's edge), then zero columns and rows up
// to Wp and Hp. The borders are just wide enough for every tap: an output (i, j) < (OH, OW)
// reading outside its plane lands on zeros — its row's own, the next row's first `left`, or the
// next plane's first `top` rows. The product's output is OH rows of Wp columns; the columns
// j ≥ OW are dropped afterwards.
struct ShiftedLayout {
  int64_t planes, IH, IW, OH, OW, top, left, Hp, Wp;
  int64_t max_offset = 0;  // of a tap within its plane

  ShiftedLayout(int64_t planes_, int64_t IH_, int64_t IW_, int64_t OH_, int64_t OW_, const std::vector<Tap>& taps)
      : planes(planes_), IH(IH_), IW(IW_), OH(OH_), OW(OW_) {
    int64_t di0 = 0, di1 = 0, dj0 = 0, dj1 = 0;
    for (const Tap& t : taps) {
      di0 = std::min(di0, t.di), di1 = std::max(di1, t.di), dj0 = std::min(dj0, t.dj), dj1 = std::max(dj1, t.dj);
    }
    top = -di0, left = -dj0;
    // Wide and tall enough that a read past a row's end lands in the next row's `left` zeros, and
    // one past the plane's last row in the next plane's `top` zero rows.
    Hp = std::max(top + IH, OH + di1);
    Wp = std::max(left + IW, OW + dj1);
    for (const Tap& t : taps) max_offset = std::max(max_offset, offset(t, 0));
  }
  int64_t plane() const { return Hp * Wp; }
  int64_t columns() const { return OH * Wp; }  // of the padded-width output
  // Where tap t's window starts when input plane k of the first sample starts at k·plane_stride.
  int64_t offset(const Tap& t, int64_t plane_stride) const {
    return t.plane * plane_stride + (top + t.di) * Wp + left + t.dj;
  }
  std::vector<int64_t> offsets(const std::vector<Tap>& taps, int64_t plane_stride) const {
    std::vector<int64_t> out;
    out.reserve(taps.size());
    for (const Tap& t : taps) out.push_back(offset(t, plane_stride));
    return out;
  }
  // Values of one sample's copy, with room for the reads of its last windows past the planes.
  template <typename T>
  int64_t padded_size() const {
    return planes * plane() + max_offset + gemm_shifted_b_overread<T>();
  }
};

// The input side of a convolution as planes of a ShiftedLayout: for stride (sh, sw) each channel
// is cut into its sh·sw phases, x[c, a + sh·i, b + sw·j] (only the phases some tap reads), so
// that every tap is a shift of one phase; with stride 1 a channel is one plane.
struct InputPlanes {
  int64_t C, H, W, sh, sw;
  std::vector<int64_t> index;  // of phase (a, b) among the channel's planes, −1 if no tap reads it
  int64_t count = 0;           // planes per channel

  explicit InputPlanes(const Geometry& g)
      : C(g.C), H(g.H), W(g.W), sh(g.win.stride_h), sw(g.win.stride_w), index(sh * sw, -1) {
    for (int64_t r = 0; r < g.R; ++r)
      for (int64_t s = 0; s < g.S; ++s) {
        int64_t& k = index[phase_of(r, g.win.pad_h, sh).a * sw + phase_of(s, g.win.pad_w, sw).a];
        if (k < 0) k = count++;
      }
  }
  int64_t IH() const { return (H + sh - 1) / sh; }
  int64_t IW() const { return (W + sw - 1) / sw; }
  // Taps in the weight's own order (c, r, s), so that w[K, C·R·S] is the product's A as it is.
  std::vector<Tap> taps(const Geometry& g) const {
    std::vector<Tap> out;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < g.R; ++r)
        for (int64_t s = 0; s < g.S; ++s) {
          const Phase pr = phase_of(r, g.win.pad_h, sh), ps = phase_of(s, g.win.pad_w, sw);
          out.push_back({c * count + index[pr.a * sw + ps.a], pr.dr, ps.dr});
        }
    return out;
  }
};

// rows × cols values of src (at row_stride, col_stride apart) into a plane of out_rows × out_cols
// at row r0 and column c0, zeros everywhere else: every value of the plane is written (the buffers
// are reused scratch, core/cpu/scratch.h) — zeros first, in one pass, then the values.
template <typename T>
void write_padded_plane(const T* src, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride, int64_t r0,
                        int64_t c0, int64_t out_rows, int64_t out_cols, T* out) {
  std::fill(out, out + out_rows * out_cols, T(0));
  for (int64_t r = 0; r < rows; ++r) {
    T* row = out + (r0 + r) * out_cols + c0;
    const T* in = src + r * row_stride;
    if (col_stride == 1) {
      copy_short(in, cols, row);
    } else if (col_stride == 2) {  // a constant stride GCC vectorizes (stride-2 convolutions' phases)
      for (int64_t j = 0; j < cols; ++j) row[j] = in[2 * j];
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] = in[j * col_stride];
    }
  }
}

// The column phases 0 and 1 of rows × W values of src (rows row_stride apart) into planes `even`
// and `odd` as write_padded_plane writes each: both from one pass over the rows (each phase
// alone read every row once more, for every other value).
template <typename T>
void write_padded_column_phases(const T* src, int64_t rows, int64_t W, int64_t row_stride, int64_t r0, int64_t c0,
                                int64_t out_rows, int64_t out_cols, T* even, T* odd) {
  std::fill(even, even + out_rows * out_cols, T(0));
  std::fill(odd, odd + out_rows * out_cols, T(0));
  const int64_t half = W / 2;
  for (int64_t r = 0; r < rows; ++r) {
    T* e = even + (r0 + r) * out_cols + c0;
    T* o = odd + (r0 + r) * out_cols + c0;
    const T* in = src + r * row_stride;
    for (int64_t j = 0; j < half; ++j) {
      e[j] = in[2 * j];
      o[j] = in[2 * j + 1];
    }
    if (W % 2) e[half] = in[W - 1];
  }
}

// One sample's x[C, H, W] as the planes of `in` in layout `lo`: plane k of channel c at
// xp + (c·in.count + k)·plane_stride (default: planes back to back).
template <typename T>
void write_input_planes(const T* x, const InputPlanes& in, const ShiftedLayout& lo, T* xp, int64_t plane_stride = -1) {
  if (plane_stride < 0) plane_stride = lo.plane();
  for (int64_t c = 0; c < in.C; ++c)
    for (int64_t a = 0; a < in.sh; ++a) {
      const int64_t rows = (in.H - a + in.sh - 1) / in.sh;
      const T* src = x + (c * in.H + a) * in.W;
      T* planes = xp + c * in.count * plane_stride;
      if (in.sw == 2 && in.index[a * 2] >= 0 && in.index[a * 2 + 1] >= 0) {
        write_padded_column_phases(src, rows, in.W, in.sh * in.W, lo.top, lo.left, lo.Hp, lo.Wp,
                                   planes + in.index[a * 2] * plane_stride, planes + in.index[a * 2 + 1] * plane_stride);
        continue;
      }
      for (int64_t b = 0; b < in.sw; ++b) {
        const int64_t k = in.index[a * in.sw + b];
        if (k < 0) continue;
        const int64_t cols = (in.W - b + in.sw - 1) / in.sw;
        write_padded_plane(src + b, rows, cols, in.sh * in.W, in.sw, lo.top, lo.left, lo.Hp, lo.Wp,
                           planes + k * plane_stride);
      }
    }
}

// A sample's padded copy in thread-local scratch, with the values read past the last plane zero.
template <typename T>
T* padded_scratch(Scratch<T>& scratch, const ShiftedLayout& lo) {
  T* xp = scratch.get(static_cast<size_t>(lo.padded_size<T>()));
  std::fill(xp + lo.planes * lo.plane(), xp + lo.padded_size<T>(), T(0));
  return xp;
}

// out[k, a + sh·i, b + sw·j] = padded[k, i, j], i < rows, j < cols, through `pass` (bias, or a
// folded eval BatchNorm: conv_output.h), from the product's padded-width rows (Wp apart), dropping
// the extra columns: with stride 1 the whole output, with a larger one the phase (a, b) of
// backward-data's dx, which adds nothing (a trivial pass).
template <typename T>
void unpad_rows(const T* padded, int64_t channels, int64_t OH, int64_t Wp, int64_t rows, int64_t cols,
                const OutputPass<T>& pass, T* out, int64_t H, int64_t W, int64_t a = 0, int64_t b = 0, int64_t sh = 1,
                int64_t sw = 1) {
  for (int64_t k = 0; k < channels; ++k) {
    for (int64_t i = 0; i < rows; ++i) {
      const T* yp = padded + (k * OH + i) * Wp;
      const int64_t at = (k * H + a + i * sh) * W + b;
      if (sw == 1) {
        pass.row(yp, cols, k, at, out + at);
      } else {
        for (int64_t j = 0; j < cols; ++j) out[at + j * sw] = yp[j];
      }
    }
  }
}

// out[k, a + sh·i, j] = even[k, i, j / 2] for even j, odd[k, i, j / 2] for odd j (j < W, i < rows):
// the column phases 0 and 1 of a stride-2 backward-data's dx, from their products' padded-width
// rows (Wp apart), interleaved into whole rows.
template <typename T>
void interleave_rows(const T* even, const T* odd, int64_t channels, int64_t OH, int64_t Wp, int64_t rows, int64_t W,
                     T* out, int64_t H, int64_t a, int64_t sh) {
  const int64_t half = W / 2;
  for (int64_t k = 0; k < channels; ++k)
    for (int64_t i = 0; i < rows; ++i) {
      const T* e = even + (k * OH + i) * Wp;
      const T* o = odd + (k * OH + i) * Wp;
      T* row = out + (k * H + a + i * sh) * W;
      for (int64_t j = 0; j < half; ++j) {
        row[2 * j] = e[j];
        row[2 * j + 1] = o[j];
      }
      if (W % 2) row[W - 1] = e[half];
    }
}

// Columns of a product split between threads (parallel.h), unless inside a parallel region.
template <typename F>
void split_columns(int64_t extent, int64_t work, F part) {
  split_range(extent, work, kParallelGrain, part);
}

// y'[M, columns] = a[M, taps] · (the taps' windows of xp).
template <typename T>
void shifted_product(const ShiftedLayout& lo, const ShiftedA<T>& a, const T* xp, const std::vector<int64_t>& offsets,
                     T* y) {
  const int64_t n = lo.columns();
  split_columns(n, a.rows() * n * a.depth(), [&](int64_t j0, int64_t j1) {
    gemm_shifted_b<T>(a, j1 - j0, xp + j0, offsets.data(), T(0), y + j0, n);
  });
}

template <typename T>
void forward_shifted(const T* x, const T* w, const Geometry& g, const OutputPass<T>& out, T* y) {
  const InputPlanes in(g);
  const std::vector<Tap> taps = in.taps(g);
  const ShiftedLayout lo(g.C * in.count, in.IH(), in.IW(), g.P, g.Q, taps);
  const std::vector<int64_t> offsets = lo.offsets(taps, lo.plane());
  const ShiftedA<T> packed(g.K, g.crs(), w, g.crs());
  SampleShares samples(g.N);
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> xp_buffer, yp_buffer;
    T* xp = padded_scratch(xp_buffer, lo);
    T* yp = yp_buffer.get(static_cast<size_t>(g.K * lo.columns()));
    samples.run([&](int64_t n) {
      write_input_planes(x + n * g.C * g.H * g.W, in, lo, xp);
      shifted_product(lo, packed, xp, offsets, yp);
      const OutputPass<T> on = out.shifted(n * g.K * g.pq());
      unpad_rows(yp, g.K, g.P, lo.Wp, g.P, g.Q, on, y + n * g.K * g.pq(), g.P, g.Q);
      on.samples(y + n * g.K * g.pq(), 1, g.K, g.pq());
    });
  }
}

// Backward-data as shifted products over dy: dx[c, h, w] = Σ_{k, r, s} w[k, c, r, s]·dy[k, p, q]
// where h = sh·p + r − ph. Phase (a, b) of dx — the (h, w) with h mod sh = a, w mod sw = b — takes
// the taps of that phase only: dx[c, a + sh·i, b + sw·j] = Σ w[k, c, r, s]·dy[k, i − dr, j − ds].
// So one padded copy of dy and, per phase, a product with A = those taps of wᵀ; with stride 1, one
// phase and every tap (the "flipped forward" of the top of the file).
template <typename T>
void backward_data_shifted(const T* dy, const T* w, const Geometry& g, T* dx) {
  const int64_t sh = g.win.stride_h, sw = g.win.stride_w, OH = (g.H + sh - 1) / sh, OW = (g.W + sw - 1) / sw;
  struct PhaseProduct {
    int64_t a, b;
    std::vector<Tap> taps;
    std::vector<T> a_rows;  // wᵀ's columns of these taps: [C, taps]
  };
  std::vector<PhaseProduct> phases;
  std::vector<Tap> all;
  for (int64_t a = 0; a < sh; ++a)
    for (int64_t b = 0; b < sw; ++b) {
      PhaseProduct ph{a, b, {}, {}};
      std::vector<int64_t> rs;  // the kernel positions r·S + s in this phase
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t s = 0; s < g.S; ++s) {
            const Phase pr = phase_of(r, g.win.pad_h, sh), ps = phase_of(s, g.win.pad_w, sw);
            if (pr.a != a || ps.a != b) continue;
            ph.taps.push_back({k, -pr.dr, -ps.dr});
            if (k == 0) rs.push_back(r * g.S + s);
          }
      // Tap t = k·|rs| + i is w[k, c, rs[i]]: read in w's order, a run of |rs| values per (k, c)
      // (this gather runs on one thread before the samples are split).
      const auto taps = static_cast<int64_t>(ph.taps.size()), per_k = static_cast<int64_t>(rs.size());
      ph.a_rows.resize(static_cast<size_t>(g.C * taps));
      T* rows = ph.a_rows.data();
      const int64_t* at = rs.data();
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t c = 0; c < g.C; ++c) {
          const T* wkc = w + (k * g.C + c) * g.R * g.S;
          T* dst = rows + c * taps + k * per_k;
          for (int64_t i = 0; i < per_k; ++i) dst[i] = wkc[at[i]];
        }
      all.insert(all.end(), ph.taps.begin(), ph.taps.end());
      phases.push_back(std::move(ph));
    }
  const ShiftedLayout lo(g.K, g.P, g.Q, OH, OW, all);
  std::vector<std::vector<int64_t>> offsets;
  std::vector<ShiftedA<T>> packed;
  for (const PhaseProduct& ph : phases) {
    offsets.push_back(lo.offsets(ph.taps, lo.plane()));
    const auto depth = static_cast<int64_t>(ph.taps.size());
    packed.emplace_back(g.C, depth, ph.a_rows.data(), depth);
  }
  const bool every_position =
      std::all_of(phases.begin(), phases.end(), [](const PhaseProduct& p) { return !p.taps.empty(); });
  // With a column stride of 2, the two column phases of a row phase are written together, their
  // rows interleaved: contiguous vector stores, where each phase alone stored every other value
  // one at a time (backward-data's own code held 8 % of perf's samples of a stride-2 layer).
  const bool pairs = sw == 2 && every_position;
  const int64_t columns = g.C * lo.columns();
  SampleShares samples(g.N);
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> dyp_buffer, dxp_buffer;
    T* dyp = padded_scratch(dyp_buffer, lo);
    T* dxp = dxp_buffer.get(static_cast<size_t>((pairs ? 2 : 1) * columns));
    samples.run([&](int64_t n) {
      T* dxn = dx + n * g.C * g.H * g.W;
      for (int64_t k = 0; k < g.K; ++k)
        write_padded_plane(dy + (n * g.K + k) * g.pq(), g.P, g.Q, g.Q, 1, lo.top, lo.left, lo.Hp, lo.Wp,
                           dyp + k * lo.plane());
      if (!every_position) std::fill(dxn, dxn + g.C * g.H * g.W, T(0));  // phases no tap reaches
      for (size_t p = 0; p < phases.size(); ++p) {
        const PhaseProduct& ph = phases[p];
        if (ph.taps.empty()) continue;
        const int64_t rows = (g.H - ph.a + sh - 1) / sh, cols = (g.W - ph.b + sw - 1) / sw;
        if (pairs) {  // phases (a, 0) and (a, 1) are next to each other in `phases`
          shifted_product(lo, packed[p], dyp, offsets[p], dxp + ph.b * columns);
          if (ph.b == 1) interleave_rows(dxp, dxp + columns, g.C, OH, lo.Wp, rows, g.W, dxn, g.H, ph.a, sh);
          continue;
        }
        shifted_product(lo, packed[p], dyp, offsets[p], dxp);
        unpad_rows(dxp, g.C, OH, lo.Wp, rows, cols, OutputPass<T>{}, dxn, g.H, g.W, ph.a, ph.b, sh, sw);
      }
    });
  }
}

// The weight gradient's product as a GEMM (below) from this many output channels on, row dots
// under it. One core, (32, C, H, W), float32, GFLOP/s of row dots → GEMM: AVX2 (Zen 3) C = 16 at
// 32²: 72 → 68; 32 at 16²: 63 → 66; 64 at 8²: 44 → 53; 64 at 32²: 68 → 80. The generic path:
// the GEMM 5–12 % slower at every size. AVX-512 (Zen 5), ms on 1 / 2 threads, row dots → GEMM:
// 16 → 16 at 32² 0.93-1.11 / 0.52-0.59 → 2.08-2.11 / 1.10-1.12; the stride-2 layers 16 → 32 at
// 32² 0.63-0.74 / 0.36-0.39 → 0.62-0.67 / 0.34; 32 → 64 at 16² 1.00-1.05 / 0.60-0.61 → 0.58-0.63
// / 0.35-0.36; 64 → 128 at 32² 11.1-11.8 / 5.9-6.0 → 8.1-8.6 / 4.4-4.5.
#if defined(__AVX2__)
constexpr int64_t kWindowsGemmMinChannels = 32;
#else
constexpr int64_t kWindowsGemmMinChannels = std::numeric_limits<int64_t>::max();
#endif

// dw[k, (c, r, s)] = Σ_n Σ_j dy'[n, k, j] · xp[n, offset(c, r, s) + j] for a chunk of samples in
// one product, so that its per-call costs (gemm_rows_dot's sums across vector lanes) are paid
// once per chunk: the chunk's input planes (forward_shifted's) are laid out plane-major,
// xs[plane][n][Hp·Wp], and dy' likewise, ds[k][n][Hp·Wp], with zeros in the rows p ≥ P and
// columns q ≥ Q that no output has. Then every row of the product is one window over all samples: a
// window running into the next sample's data meets only those zeros of ds. Chunks are cut inside
// sum_over_samples' fixed ranges.
// The product is either row dots, dw = ds · windowsᵀ (gemm_rows_dot), or the transposed product
// as a GEMM with the usual register tile, dwᵀ = windows · dsᵀ (gemm_windows_a), whichever this
// path measured faster (kWindowsGemmMinChannels).
template <typename T>
void backward_weight_shifted(const T* dy, const T* x, const Geometry& g, T* dw) {
  const InputPlanes in(g);
  const std::vector<Tap> taps = in.taps(g);
  const ShiftedLayout lo(g.C * in.count, in.IH(), in.IW(), g.P, g.Q, taps);
  const int64_t crs = g.crs(), plane = lo.plane(), tail = lo.max_offset;
  // Samples per chunk: their padded x and dy' take about 1 MB.
  const int64_t chunk =
      std::clamp<int64_t>((1 << 20) / static_cast<int64_t>(sizeof(T) * (lo.planes + g.K) * plane), 1, 16);
  const bool transposed = g.K >= kWindowsGemmMinChannels;
  thread_local Scratch<T> dwt_buffer;  // dwᵀ[(c, r, s), k]
  T* out = transposed ? dwt_buffer.get(static_cast<size_t>(g.K * crs)) : dw;
  sum_over_samples<T>(g.N, g.K * crs, out, [&](int64_t first, int64_t last, T* acc) {
    const int64_t most = std::min(chunk, last - first);
    thread_local Scratch<T> xs_buffer, ds_buffer;
    T* xs = xs_buffer.get(static_cast<size_t>(lo.planes * most * plane + tail));
    T* ds = ds_buffer.get(static_cast<size_t>(g.K * most * plane));
    for (int64_t n0 = first; n0 < last; n0 += chunk) {
      const int64_t count = std::min(chunk, last - n0), len = count * plane;
      const std::vector<int64_t> offsets = lo.offsets(taps, /*plane_stride=*/len);
      std::fill(xs + lo.planes * len, xs + lo.planes * len + tail, T(0));  // read past the last window
      for (int64_t i = 0; i < count; ++i) {
        write_input_planes(x + (n0 + i) * g.C * g.H * g.W, in, lo, xs + i * plane, /*plane_stride=*/len);
        const T* dyn = dy + (n0 + i) * g.K * g.pq();
        for (int64_t k = 0; k < g.K; ++k)  // dy' has zeros in the rows and columns without outputs
          write_padded_plane(dyn + k * g.pq(), g.P, g.Q, g.Q, 1, 0, 0, lo.Hp, lo.Wp, ds + k * len + i * plane);
      }
      const T beta = n0 == first ? T(0) : T(1);  // the range's first chunk writes acc, the others add
      split_columns(crs, g.K * crs * len, [&](int64_t j0, int64_t j1) {  // disjoint (c, r, s) of dw
        if (transposed)
          gemm_windows_a<T>(j1 - j0, g.K, len, xs, offsets.data() + j0, ds, len, beta, acc + j0 * g.K, g.K);
        else
          gemm_rows_dot<T>(g.K, j1 - j0, len, ds, len, xs, offsets.data() + j0, beta, acc + j0, crs);
      });
    }
  });
  if (transposed) transpose(out, crs, g.K, dw);  // by tiles (a plain strided loop before)
}

// Winograd F(2x2, 3x3) or F(4x4, 3x3) (winograd.h) for 3x3 stride-1 convolutions padded by at most
// 2 — so that backward-data, padded by 2 − pad, qualifies too. Auto uses it in float32 (float64
// stays on the direct kernel, the reference) only where it measured faster than the direct kernel,
// per path, on the 3x3 shapes of resnet20 and preresnet29 ((32, C, H, W), 1 and 2 threads;
// bench/RESULTS.md): from kWinogradMinChannels channels on both sides (the weight gradient from
// kWinogradGradMinChannels) and kWinogradMinWidth output columns, F(4x4) from kWinograd4MinWidth. The transforms cost about what the fewer multiplications
// save where channels are few, so Winograd wins only where the direct kernel is slow for its flops
// or the GEMMs are deep enough. Measured in one process, both alternating call by call, medians of
// 12 to 40, batch 32 (128), F(4x4) against direct, 1 / 2 threads, since the tile gathers and
// scatters became 4 x 4 transposes (winograd.cpp) — AVX2: 16 ch at 32² forward 1.16x / 1.12x (1.15x
// / 1.09x), backward-data 1.11x / 1.12x (1.08x / 1.08x), weight gradient 1.13-1.16x / 1.02-1.24x
// (1.13-1.16x / 1.02-1.14x; 9 runs, once the plane copies were copy_short — before, 0.93x / 0.96x
// (1.00x / 0.64x), it ran from 32 channels); 32 at 16² 1.67x / 1.62x, 1.64x / 1.65x, 1.39x / 1.02x;
// 64 at 8² 2.06x / 1.80x, 2.05x / 1.64x, 1.94x / 1.70x (the weight gradient's, 2 threads, before
// threads took whole ranges of samples: on the Zen 5 VM's AVX2 path it went from 0.57x (0.58x),
// 1.00x, 1.65x to 1.52x (1.30x), 2.10x, 1.55x). Generic, 16 at 32²: 1.78x / 2.05x, 2.24x / 1.99x,
// 1.49x / 1.02x (before: 64 ch at 32² 2.5x, 32 at 16² 1.6x, 64 at 8² 1.9x; F(4x4) against F(2x2)
// 1.05-1.3x). AVX-512 (Zen 5 VM, medians of 15 to 31; the weight gradient once threads took whole
// ranges of samples): 16 at 32² 1.02-1.08x / 0.97-1.09x forward, 1.25x / 0.94-0.99x backward-data,
// 0.66-0.70x / 0.61-0.71x weight gradient — so from 32 channels; 32 at 16² 1.82x / 1.40x, 1.83x /
// 1.32x, 2.0x / 1.8-1.9x; 64 at 8² 3.2x / 2.3x, 3.5x / 2.8x, 4.0x / 3.0x; 64 at 32² 1.95x / 1.92x,
// 1.94x / 1.93x, 2.1x / 1.9-2.0x. Since the samples stay on their core (SampleShares, parallel.h),
// 16 at 32² on 2 threads, batch 32 / 128: forward 1.14x / 1.05x, backward-data 1.15x / 0.97x,
// weight gradient 0.68x / 0.66x — so forward and backward-data from 16 channels, the weight
// gradient from 32. Whole steps, alternating with direct at 16 (img/s), while the VM was loaded:
// inference resnet20 BN b32 2528-2552 → 2709-2764, GN b128 2426-2455 → 2516-2541, training
// resnet20 BN b32 691-703 → 701-739, GN b128 669-706 → 681-726, preresnet29 BN b32 the same; on
// the VM quieter, a wash: inference resnet20 BN b32 3513-3889 → 3542-3913, training GN b32
// 954-1131 → 959-1144, BN b128 1020-1111 → 999-1113.
#if defined(__AVX512F__)
constexpr int64_t kWinogradMinChannels = 16, kWinogradMinWidth = 8, kWinograd4MinWidth = 8;
constexpr int64_t kWinogradGradMinChannels = 32;
#elif defined(__AVX2__)
constexpr int64_t kWinogradMinChannels = 16, kWinogradMinWidth = 8, kWinograd4MinWidth = 8;
constexpr int64_t kWinogradGradMinChannels = 16;
#else
constexpr int64_t kWinogradMinChannels = 16, kWinogradMinWidth = 1, kWinograd4MinWidth = 8;
constexpr int64_t kWinogradGradMinChannels = 16;
#endif

// The tile size m of the Winograd F(m x m, 3x3) to run (2 or 4), or 0 for the direct kernel, for
// a convolution from in_channels to out_channels whose output rows are out_width wide (its weight
// gradient with weight_grad).
template <typename T>
int winograd_tile(const Geometry& g, int64_t in_channels, int64_t out_channels, int64_t out_width,
                  bool weight_grad = false) {
  const auto& v = g.win;
  const bool applies = g.R == 3 && g.S == 3 && v.stride_h == 1 && v.stride_w == 1 && v.pad_h <= 2 && v.pad_w <= 2;
  if (!applies) return 0;
  switch (cpu_conv_algorithm()) {
    case ConvAlgorithm::Direct:
      return 0;
    case ConvAlgorithm::Winograd:
      return 2;
    case ConvAlgorithm::Winograd4:
      return 4;
    default: {
      const int64_t least = weight_grad ? kWinogradGradMinChannels : kWinogradMinChannels;
      if (sizeof(T) != 4 || std::min(in_channels, out_channels) < least) return 0;
      if (out_width < kWinogradMinWidth) return 0;
      return out_width >= kWinograd4MinWidth ? 4 : 2;
    }
  }
}

template <typename T>
void forward(const T* x, const T* w, const Geometry& g, const OutputPass<T>& out, T* y) {
  if (const int m = winograd_tile<T>(g, g.C, g.K, g.Q))
    return winograd_conv3x3(m, x, g.N, g.C, g.H, g.W, w, KernelLayout::Forward, g.K, g.win.pad_h, g.win.pad_w, out,
                            y);
  if (!g.pointwise()) return forward_shifted(x, w, g, out, y);
  // A 1x1 kernel without padding: y[K, PQ] = w[K, C] · x[C, PQ] (pointwise_input).
  const int64_t pq = g.pq();
  SampleShares samples(g.N);
#pragma omp parallel if (split_batch(g.N))
  samples.run([&](int64_t n) {
    T* yn = y + n * g.K * pq;
    parallel_gemm<T>(false, false, g.K, pq, g.C, T(1), w, g.C, pointwise_input(x, g, n), pq, T(0), yn, pq);
    const OutputPass<T> on = out.shifted(n * g.K * pq);
    if (!on.trivial())
      for (int64_t k = 0; k < g.K; ++k) on.row(yn + k * pq, pq, k, k * pq, yn + k * pq);
    on.samples(yn, 1, g.K, pq);
  });
}

template <typename T>
void backward(const T* dy, const T* x, const T* w, const Geometry& g, T* dx, T* dw, T* dbias) {
  if (dbias) bias_grad(dy, g, dbias);
  if (const int m = dx ? winograd_tile<T>(g, g.K, g.C, g.W) : 0) {
    // dy padded by 2 − pad, convolved with w's kernels flipped (K and C swapped)
    winograd_conv3x3(m, dy, g.N, g.K, g.P, g.Q, w, KernelLayout::Flipped, g.C, 2 - g.win.pad_h, 2 - g.win.pad_w,
                     OutputPass<T>{}, dx);
    dx = nullptr;  // done
  }
  if (const int m = dw ? winograd_tile<T>(g, g.C, g.K, g.Q, /*weight_grad=*/true) : 0) {
    winograd_weight_grad3x3(m, x, g.N, g.C, g.H, g.W, dy, g.K, g.win.pad_h, g.win.pad_w, dw);
    dw = nullptr;  // done
  }
  if (!g.pointwise()) {
    if (dx) backward_data_shifted(dy, w, g, dx);
    if (dw) backward_weight_shifted(dy, x, g, dw);
    return;
  }
  // 1x1, no padding: dw[K, C] += dy[K, PQ] · x[C, PQ]ᵀ, dx[C, PQ] = wᵀ · dy (x: pointwise_input; with
  // a stride, dx's product is scattered into its positions, scatter_pointwise).
  const int64_t pq = g.pq();
  if (dw) {
    sum_over_samples<T>(g.N, g.K * g.C, dw, [&](int64_t first, int64_t last, T* acc) {
      for (int64_t n = first; n < last; ++n)
        parallel_gemm<T>(false, true, g.K, g.C, pq, T(1), dy + n * g.K * pq, pq, pointwise_input(x, g, n), pq,
                         n == first ? T(0) : T(1), acc, g.C);
    });
  }
  if (!dx) return;
  SampleShares samples(g.N);
#pragma omp parallel if (split_batch(g.N))
  samples.run([&](int64_t n) {
    T* dxn = dx + n * g.C * g.H * g.W;
    thread_local Scratch<T> product_buffer;
    T* product = g.unit_stride() ? dxn : product_buffer.get(static_cast<size_t>(g.C * pq));
    parallel_gemm<T>(true, false, g.C, pq, g.K, T(1), w, g.C, dy + n * g.K * pq, pq, T(0), product, pq);
    if (!g.unit_stride()) scatter_pointwise(product, g, dxn);
  });
}

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const kernels::Window2d& win, Tensor& y) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d", [&](auto v) {
    using T = decltype(v);
    forward<T>(x.data<T>(), w.data<T>(), g, OutputPass<T>{data_or_null<T>(bias), nullptr, nullptr, {}}, y.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(conv2d_forward_kernel, CPU, conv2d_forward);

void conv2d_add_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const kernels::Window2d& win,
                        const Tensor& residual, Tensor& y) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d_add", [&](auto v) {
    using T = decltype(v);
    const OutputPass<T> out{data_or_null<T>(bias), nullptr, nullptr, {residual.data<T>(), false, nullptr}};
    forward<T>(x.data<T>(), w.data<T>(), g, out, y.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(conv2d_add_forward_kernel, CPU, conv2d_add_forward);

// The eval BatchNorm as BatchNorm's kernel computes it (norm_loops.h): per channel y = x·scale +
// shift, scale and shift in double from the running statistics, rounded to T.
void conv2d_batch_norm_eval(const Tensor& x, const Tensor& w, const kernels::Window2d& win,
                            const kernels::BatchNormEval& bn, const kernels::NormEpilogue& then, Tensor& y) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d_batch_norm_eval", [&](auto v) {
    using T = decltype(v);
    const T *mean = bn.running_mean.data<T>(), *var = bn.running_var.data<T>();
    std::vector<T> scale(static_cast<size_t>(g.K)), shift(static_cast<size_t>(g.K));
    for (int64_t k = 0; k < g.K; ++k) {
      const norm::Affine a = norm::affine_of(mean[k], norm::rstd_of(var[k], bn.eps), data_or_null<T>(bn.weight),
                                             data_or_null<T>(bn.bias), k);
      scale[k] = static_cast<T>(a.scale);
      shift[k] = static_cast<T>(a.shift);
    }
    const OutputPass<T> out{nullptr, scale.data(), shift.data(), norm::epilogue_of<T>(then)};
    forward<T>(x.data<T>(), w.data<T>(), g, out, y.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(conv2d_batch_norm_eval_kernel, CPU, conv2d_batch_norm_eval);

void conv2d_group_norm(const Tensor& x, const Tensor& w, const kernels::Window2d& win,
                       const kernels::GroupNormParams& gn, const kernels::NormEpilogue& then, Tensor& y) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d_group_norm", [&](auto v) {
    using T = decltype(v);
    const GroupNormPass<T> pass{gn.groups, gn.eps, data_or_null<T>(gn.weight), data_or_null<T>(gn.bias)};
    const OutputPass<T> out{nullptr, nullptr, nullptr, norm::epilogue_of<T>(then), &pass};
    forward<T>(x.data<T>(), w.data<T>(), g, out, y.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(conv2d_group_norm_kernel, CPU, conv2d_group_norm);

void conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const kernels::Window2d& win,
                     kernels::Conv2dGrads& grads) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d_backward", [&](auto v) {
    using T = decltype(v);
    backward<T>(dy.data<T>(), x.data<T>(), w.data<T>(), g, data_or_null<T>(grads.dx), data_or_null<T>(grads.dw),
                data_or_null<T>(grads.dbias));
  });
}
MINIDL_REGISTER_KERNEL(conv2d_backward_kernel, CPU, conv2d_backward);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
