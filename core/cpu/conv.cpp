// Conv2d on the CPU: im2col + GEMM, one sample at a time, OpenMP over the samples.
// Dims: N batch, C in channels, H W input size, K out channels, R S kernel size, P Q output size.
//
// im2col lays out, for one sample, col[C·R·S, P·Q] with col[(c·R + r)·S + s, p·Q + q] =
// x[c, p·stride_h − pad_h + r, q·stride_w − pad_w + s] (0 outside the image), so that
//   forward:  y[K, PQ] = w[K, CRS] · col
//   backward: dw[K, CRS] += dy[K, PQ] · colᵀ,  dcol = wᵀ · dy, dx = col2im(dcol)
// In the forward, col is GEMM's B operand with few rows of A (K) to reuse it, so im2col writes it
// straight into GEMM's packed panel layout and GEMM skips packing it.
// A 1x1 kernel with stride 1 and no padding needs no im2col: col is the input itself.
//
// Other stride-1 convolutions skip im2col too (the "shifted windows" method). Pad the input once
// to xp and compute the output over padded-width rows, y'[K, P·Wp]: then column j of col's row
// (c, r, s) is xp[c·plane + r·Wp + s + j], so each row of col is a window of xp at a fixed offset
// and GEMM reads it in place (gemm_shifted_b). The extra columns of each output row are dropped
// when y' is copied to y. Neighbours share their zero borders: a row of xp is pad_w zeros then W
// values (Wp = W + pad_w: the zeros right of row h are those left of row h + 1), a plane is pad_h
// zero rows then H rows (its bottom border is the next plane's top). Every column computed but
// dropped is a multiply-add wasted: at 8x8 images, 72 columns per channel rather than 80.
// The backward pass reuses the same two products:
//   dx = the stride-1 convolution of dy, padded by (R−1−pad), with w flipped in r, s and with
//        K and C swapped — a forward convolution again, no col2im;
//   dw[k, (c, r, s)] += Σ_j dy'[k, j] · xp[offset(c, r, s) + j], dy' being dy in padded-width
//        rows with zeros in the dropped columns (gemm_rows_dot).
// For 16 to 64 channels this moves ~9× less memory than im2col/col2im (see bench/RESULTS.md).
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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
  bool pointwise() const {
    return R == 1 && S == 1 && win.stride_h == 1 && win.stride_w == 1 && win.pad_h == 0 && win.pad_w == 0;
  }
};

Geometry geometry(const Tensor& x, const Tensor& w, const kernels::Window2d& win) {
  const int64_t H = x.size(2), W = x.size(3), R = w.size(2), S = w.size(3);
  return {x.size(0), x.size(1), H, W, w.size(0), R, S, kernels::Window2d::out_size(H, R, win.stride_h, win.pad_h),
          kernels::Window2d::out_size(W, S, win.stride_w, win.pad_w), win};
}

// The loop im2col and col2im share: for every col row (c, r, s) and output row p, the image
// row h it reads (or -1 when h is in the padding) and the output columns [q0, q1) whose
// w = q·stride − pad + s lies inside the image.
// With `parallel`, threads split the (c, r) rows; the callback must then write disjoint memory.
template <typename F>
void for_each_patch_row(const Geometry& g, bool parallel, F f) {
  const auto& v = g.win;
#pragma omp parallel for collapse(2) if (parallel && g.crs() * g.pq() > kParallelGrain && !omp_in_parallel())
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t r = 0; r < g.R; ++r) {
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t row = (c * g.R + r) * g.S + s;
        // q·stride − pad + s ∈ [0, W)  <=>  q ∈ [ceil((pad − s) / stride), ceil((W + pad − s) / stride))
        const int64_t q0 = std::clamp<int64_t>((v.pad_w - s + v.stride_w - 1) / v.stride_w, 0, g.Q);
        const int64_t lo = g.W + v.pad_w - s;
        const int64_t q1 = std::clamp<int64_t>(lo <= 0 ? 0 : (lo + v.stride_w - 1) / v.stride_w, q0, g.Q);
        for (int64_t p = 0; p < g.P; ++p) {
          const int64_t h = p * v.stride_h - v.pad_h + r;
          f(row, c, p, (h >= 0 && h < g.H) ? h : -1, q0, q1, q0 * v.stride_w - v.pad_w + s);
        }
      }
    }
  }
}

template <typename T>
void im2col(const T* x, const Geometry& g, T* col) {
  const int64_t sw = g.win.stride_w;
  for_each_patch_row(g, /*parallel=*/true, [&](int64_t row, int64_t c, int64_t p, int64_t h, int64_t q0, int64_t q1, int64_t w0) {
    T* dst = col + row * g.pq() + p * g.Q;
    if (h < 0) {
      for (int64_t q = 0; q < g.Q; ++q) dst[q] = T(0);
      return;
    }
    const T* src = x + (c * g.H + h) * g.W + w0 - q0 * sw;
    // Plain loops rather than memcpy/fill: the rows are short, a call costs more than the copy.
    for (int64_t q = 0; q < q0; ++q) dst[q] = T(0);
    if (sw == 1) {
      for (int64_t q = q0; q < q1; ++q) dst[q] = src[q];
    } else {
      for (int64_t q = q0; q < q1; ++q) dst[q] = src[q * sw];
    }
    for (int64_t q = q1; q < g.Q; ++q) dst[q] = T(0);
  });
}

// The same, written straight into GEMM's packed-B layout (gemm.h): row `row` of col goes to
// offset row·W of every panel, and an output row of Q columns is cut where panels end.
template <typename T>
void im2col_packed(const T* x, const Geometry& g, T* out) {
  const int64_t W = gemm_panel_width<T>();
  const int64_t sw = g.win.stride_w, crs = g.crs(), pq = g.pq();
  for_each_patch_row(g, /*parallel=*/true, [&](int64_t row, int64_t c, int64_t p, int64_t h, int64_t q0, int64_t q1, int64_t w0) {
    const T* src = x + (c * g.H + std::max<int64_t>(h, 0)) * g.W + w0 - q0 * sw;
    if (h < 0) q0 = q1 = g.Q;  // a padding row: all zeros
    for (int64_t q = 0; q < g.Q;) {
      const int64_t col = p * g.Q + q, offset = col % W, len = std::min(W - offset, g.Q - q);
      T* dst = out + packed_b_index(row, col, crs, W) - q;  // dst[q'] for q' in [q, q + len)
      const int64_t end = q + len, lo = std::clamp(q0, q, end), hi = std::clamp(q1, lo, end);
      for (int64_t i = q; i < lo; ++i) dst[i] = T(0);
      if (sw == 1) {
        for (int64_t i = lo; i < hi; ++i) dst[i] = src[i];
      } else {
        for (int64_t i = lo; i < hi; ++i) dst[i] = src[i * sw];
      }
      for (int64_t i = hi; i < end; ++i) dst[i] = T(0);
      q = end;
    }
  });
  // The last panel's columns past the matrix are zero.
  const int64_t last = pq / W * W;
  if (last < pq)
    for (int64_t r = 0; r < crs; ++r)
      for (int64_t col = pq; col < last + W; ++col) out[packed_b_index(r, col, crs, W)] = T(0);
}

// dx[c, h, w] += dcol[row, p·Q + q]; dx must start zeroed. Rows (c, r, s) of one c write the
// same dx channel, so only the c loop is split between threads.
template <typename T>
void col2im(const T* dcol, const Geometry& g, T* dx) {
  const int64_t sw = g.win.stride_w;
  Geometry per_channel = g;
  per_channel.C = 1;
#pragma omp parallel for if (g.crs() * g.pq() > kParallelGrain && !omp_in_parallel())
  for (int64_t c = 0; c < g.C; ++c) {
    const T* dcol_c = dcol + c * g.R * g.S * g.pq();
    T* dx_c = dx + c * g.H * g.W;
    for_each_patch_row(per_channel, /*parallel=*/false, [&](int64_t row, int64_t, int64_t p, int64_t h, int64_t q0, int64_t q1, int64_t w0) {
      if (h < 0) return;
      const T* src = dcol_c + row * g.pq() + p * g.Q;
      T* dst = dx_c + h * g.W + w0 - q0 * sw;
      if (sw == 1) {
        for (int64_t q = q0; q < q1; ++q) dst[q] += src[q];
      } else {
        for (int64_t q = q0; q < q1; ++q) dst[q * sw] += src[q];
      }
    });
  }
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
bool split_batch(int64_t n) { return n >= omp_get_max_threads(); }

// The weight gradient sums every sample's contribution. So that the sum does not depend on the
// number of threads (the same weights after training with 1 thread or 2), the samples are cut
// into kSumSlots fixed ranges, whatever the thread count; each range is summed in order into a
// buffer of its own, and the buffers are added in order at the end. Threads take whole ranges.
constexpr int64_t kSumSlots = 8;

// out[size] = Σ over the samples [0, N) of what add_range(n0, n1, acc) adds into acc (zeroed).
template <typename T, typename F>
void sum_over_samples(int64_t N, int64_t size, T* out, F add_range) {
  const int64_t slots = std::clamp<int64_t>(N, 1, kSumSlots);
  thread_local Scratch<T> parts_buffer;
  T* parts = parts_buffer.get(static_cast<size_t>(slots * size));
  std::fill(parts, parts + slots * size, T(0));
  // Ranges go to threads when there are enough of them; otherwise add_range's products split.
  const int threads = omp_in_parallel() || slots < omp_get_max_threads() ? 1 : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t slot = 0; slot < slots; ++slot) add_range(N * slot / slots, N * (slot + 1) / slots, parts + slot * size);
  std::copy(parts, parts + size, out);
  for (int64_t slot = 1; slot < slots; ++slot)
    for (int64_t i = 0; i < size; ++i) out[i] += parts[slot * size + i];
}

// ---- stride-1 convolutions without im2col (see the top of the file) ----

bool use_shifted_windows(const Geometry& g) {
  const auto& v = g.win;
  return v.stride_h == 1 && v.stride_w == 1 && !g.pointwise() && v.pad_h <= g.R - 1 && v.pad_w <= g.S - 1;
}

// One stride-1 convolution's shapes: a C-channel input padded by (ph, pw), an R×S kernel, and
// the layout of its padded copy (see the top of the file).
struct Shifted {
  int64_t C, H, W, ph, pw, R, S;
  int64_t Wp() const { return W + pw; }  // a row: pw zeros, then W values
  int64_t Hp() const { return H + ph; }  // a plane: ph zero rows, then H rows
  int64_t plane() const { return Hp() * Wp(); }
  int64_t P() const { return H + 2 * ph - R + 1; }
  int64_t Q() const { return W + 2 * pw - S + 1; }
  int64_t columns() const { return P() * Wp(); }  // of the padded-width output
  // Zeros after the last plane: its bottom border and what the last windows read past it.
  int64_t tail() const { return (R - 1) * Wp() + S; }
  template <typename T>
  int64_t padded_size() const {  // one sample, with room for GEMM's reads past the last window
    return C * plane() + tail() + gemm_shifted_b_overread<T>();
  }
  // The offsets of col's rows (c, r, s) when channel c's planes start at c·channel_stride.
  std::vector<int64_t> offsets(int64_t channel_stride) const {
    std::vector<int64_t> out;
    out.reserve(static_cast<size_t>(C * R * S));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s) out.push_back(c * channel_stride + r * Wp() + s);
    return out;
  }
};

// rows × cols values of src (rows of `cols`) into a plane of out_rows × out_cols at row r0 and
// column c0, zeros everywhere else: every value of the plane is written (the buffers are reused
// scratch, core/cpu/scratch.h).
template <typename T>
void write_padded_plane(const T* src, int64_t rows, int64_t cols, int64_t r0, int64_t c0, int64_t out_rows,
                        int64_t out_cols, T* out) {
  std::fill(out, out + r0 * out_cols, T(0));
  for (int64_t r = 0; r < rows; ++r) {
    T* row = out + (r0 + r) * out_cols;
    std::fill(row, row + c0, T(0));
    std::copy(src + r * cols, src + (r + 1) * cols, row + c0);
    std::fill(row + c0 + cols, row + out_cols, T(0));
  }
  std::fill(out + (r0 + rows) * out_cols, out + out_rows * out_cols, T(0));
}

// xp from x[C, H, W]: channel c's padded plane at xp + c·channel_stride (default: planes back to
// back), its borders zero.
template <typename T>
void pad_input(const T* x, const Shifted& sh, T* xp, int64_t channel_stride = -1) {
  if (channel_stride < 0) channel_stride = sh.plane();
  for (int64_t c = 0; c < sh.C; ++c)
    write_padded_plane(x + c * sh.H * sh.W, sh.H, sh.W, sh.ph, sh.pw, sh.Hp(), sh.Wp(), xp + c * channel_stride);
}

// A padded input buffer of thread-local scratch, with the values GEMM reads past the last plane
// zero.
template <typename T>
T* padded_scratch(Scratch<T>& scratch, int64_t planes_size, int64_t total) {
  T* xp = scratch.get(static_cast<size_t>(total));
  std::fill(xp + planes_size, xp + total, T(0));
  return xp;
}

// out[rows, P, Q] (+ bias[row]) from padded-width rows y'[rows, P·Wp], dropping the extra columns.
template <typename T>
void unpad_rows(const Shifted& sh, int64_t rows, const T* padded, const T* bias, T* out) {
  const int64_t P = sh.P(), Q = sh.Q(), Wp = sh.Wp();
  for (int64_t k = 0; k < rows; ++k) {
    const T b = bias ? bias[k] : T(0);
    for (int64_t p = 0; p < P; ++p) {
      const T* yp = padded + (k * P + p) * Wp;
      T* y = out + (k * P + p) * Q;
      for (int64_t q = 0; q < Q; ++q) y[q] = yp[q] + b;
    }
  }
}

// The `parts` threads (1 inside a parallel region or for small work) each take a contiguous
// share of [0, extent) and call part(begin, end).
template <typename F>
void split_columns(int64_t extent, int64_t work, F part) {
  const int parts = omp_in_parallel() || work < kParallelGrain ? 1 : omp_get_max_threads();
#pragma omp parallel for num_threads(parts)
  for (int i = 0; i < parts; ++i) part(extent * i / parts, extent * (i + 1) / parts);
}

// y'[K, P·Wp] = w[K, C·R·S] · (windows of xp).
template <typename T>
void shifted_product(const Shifted& sh, const ShiftedA<T>& w, const T* xp, const std::vector<int64_t>& offsets, T* y) {
  const int64_t n = sh.columns();
  split_columns(n, w.rows() * n * w.depth(), [&](int64_t j0, int64_t j1) {
    gemm_shifted_b<T>(w, j1 - j0, xp + j0, offsets.data(), T(0), y + j0, n);
  });
}

template <typename T>
void forward_shifted(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
  const Shifted sh{g.C, g.H, g.W, g.win.pad_h, g.win.pad_w, g.R, g.S};
  const std::vector<int64_t> offsets = sh.offsets(sh.plane());
  const ShiftedA<T> packed(g.K, g.crs(), w, g.crs());
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> xp_buffer, yp_buffer;
    T* xp = padded_scratch(xp_buffer, g.C * sh.plane(), sh.padded_size<T>());
    T* yp = yp_buffer.get(static_cast<size_t>(g.K * sh.columns()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      pad_input(x + n * g.C * g.H * g.W, sh, xp);
      shifted_product(sh, packed, xp, offsets, yp);
      unpad_rows(sh, g.K, yp, bias, y + n * g.K * g.pq());
    }
  }
}

// dx is dy[K, P, Q] padded by R−1−pad, convolved with flipped[C, K, R, S] = w[k, c, R−1−r, S−1−s].
template <typename T>
std::vector<T> flip_weights(const T* w, const Geometry& g) {
  std::vector<T> flipped(static_cast<size_t>(g.C * g.K * g.R * g.S));
  for (int64_t k = 0; k < g.K; ++k)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t r = 0; r < g.R; ++r)
        for (int64_t s = 0; s < g.S; ++s)
          flipped[((c * g.K + k) * g.R + r) * g.S + s] = w[((k * g.C + c) * g.R + g.R - 1 - r) * g.S + g.S - 1 - s];
  return flipped;
}

template <typename T>
void backward_data_shifted(const T* dy, const T* w, const Geometry& g, T* dx) {
  const Shifted sh{g.K, g.P, g.Q, g.R - 1 - g.win.pad_h, g.S - 1 - g.win.pad_w, g.R, g.S};
  const std::vector<T> flipped = flip_weights(w, g);
  const std::vector<int64_t> offsets = sh.offsets(sh.plane());
  const ShiftedA<T> packed(g.C, g.K * g.R * g.S, flipped.data(), g.K * g.R * g.S);
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> dyp_buffer, dxp_buffer;
    T* dyp = padded_scratch(dyp_buffer, g.K * sh.plane(), sh.padded_size<T>());
    T* dxp = dxp_buffer.get(static_cast<size_t>(g.C * sh.columns()));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      pad_input(dy + n * g.K * g.pq(), sh, dyp);
      shifted_product(sh, packed, dyp, offsets, dxp);
      unpad_rows(sh, g.C, dxp, static_cast<const T*>(nullptr), dx + n * g.C * g.H * g.W);
    }
  }
}

// The weight gradient's product as a GEMM (below) from this many output channels on, row dots
// under it. One core, (32, C, H, W), float32, GFLOP/s of row dots → GEMM: AVX2 (Zen 3) C = 16 at
// 32²: 72 → 68; 32 at 16²: 63 → 66; 64 at 8²: 44 → 53; 64 at 32²: 68 → 80. The generic path:
// the GEMM 5–12 % slower at every size. AVX-512: not measured yet, so row dots as before.
#if defined(__AVX2__) && !defined(__AVX512F__)
constexpr int64_t kWindowsGemmMinChannels = 32;
#else
constexpr int64_t kWindowsGemmMinChannels = std::numeric_limits<int64_t>::max();
#endif

// dw[k, (c, r, s)] = Σ_n Σ_j dy'[n, k, j] · xp[n, offset(c, r, s) + j] for a chunk of samples in
// one gemm_rows_dot call, so that its sums across vector lanes are paid once per chunk: the chunk's
// padded inputs are laid out channel-major, xs[c][n][plane] (a sample's top border is the bottom
// of the one before), and dy' likewise, ds[k][n][plane], with zeros in the rows p ≥ P and columns
// q ≥ Q that no output has. Then every row of the product is one window over all samples: a
// window running into the next sample's data meets only those zeros of ds. Chunks are cut inside
// sum_over_samples' fixed ranges.
// The product is either row dots, dw = ds · windowsᵀ (gemm_rows_dot), or the transposed product
// as a GEMM with the usual register tile, dwᵀ = windows · dsᵀ (gemm_windows_a), whichever this
// path measured faster (kWindowsGemmMinChannels).
template <typename T>
void backward_weight_shifted(const T* dy, const T* x, const Geometry& g, T* dw) {
  const Shifted sh{g.C, g.H, g.W, g.win.pad_h, g.win.pad_w, g.R, g.S};
  const int64_t crs = g.crs(), plane = sh.plane(), tail = sh.tail();
  // Samples per chunk: their padded x and dy' take about 1 MB.
  const int64_t chunk = std::clamp<int64_t>((1 << 20) / static_cast<int64_t>(sizeof(T) * (g.C + g.K) * plane), 1, 16);
  const bool transposed = g.K >= kWindowsGemmMinChannels;
  thread_local Scratch<T> dwt_buffer;  // dwᵀ[(c, r, s), k]
  T* out = transposed ? dwt_buffer.get(static_cast<size_t>(g.K * crs)) : dw;
  sum_over_samples<T>(g.N, g.K * crs, out, [&](int64_t first, int64_t last, T* acc) {
    const int64_t most = std::min(chunk, last - first);
    thread_local Scratch<T> xs_buffer, ds_buffer;
    T* xs = xs_buffer.get(static_cast<size_t>(g.C * most * plane + tail));
    T* ds = ds_buffer.get(static_cast<size_t>(g.K * most * plane));
    for (int64_t n0 = first; n0 < last; n0 += chunk) {
      const int64_t count = std::min(chunk, last - n0), len = count * plane;
      const std::vector<int64_t> offsets = sh.offsets(/*channel_stride=*/len);
      std::fill(xs + g.C * len, xs + g.C * len + tail, T(0));  // read past the last window
      for (int64_t i = 0; i < count; ++i) {
        pad_input(x + (n0 + i) * g.C * g.H * g.W, sh, xs + i * plane, /*channel_stride=*/len);
        const T* dyn = dy + (n0 + i) * g.K * g.pq();
        for (int64_t k = 0; k < g.K; ++k)  // dy' has zeros in the rows and columns without outputs
          write_padded_plane(dyn + k * g.pq(), g.P, g.Q, 0, 0, sh.Hp(), sh.Wp(), ds + k * len + i * plane);
      }
      split_columns(crs, g.K * crs * len, [&](int64_t j0, int64_t j1) {  // disjoint (c, r, s) of dw
        if (transposed)
          gemm_windows_a<T>(j1 - j0, g.K, len, xs, offsets.data() + j0, ds, len, acc + j0 * g.K, g.K);
        else
          gemm_rows_dot<T>(g.K, j1 - j0, len, ds, len, xs, offsets.data() + j0, acc + j0, crs);
      });
    }
  });
  if (transposed)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t j = 0; j < crs; ++j) dw[k * crs + j] = out[j * g.K + k];
}

// Winograd F(2x2, 3x3) (winograd.h) for 3x3 stride-1 convolutions padded by at most 2 — so that
// backward-data, padded by 2 − pad, qualifies too. Auto uses it in float32 (float64 stays on the
// direct kernel, the reference) from this many channels on both sides, measured per path on
// resnet20's shapes (bench/RESULTS.md): its transforms cost about what the 2.25x fewer
// multiplications save, so it wins only where the direct kernel is slow for its flops — the
// generic path from 32 channels (2.3x at 64), AVX2 from 64 (1.2x), AVX-512 never.
#if defined(__AVX512F__)
constexpr int64_t kWinogradMinChannels = INT64_MAX;
#elif defined(__AVX2__)
constexpr int64_t kWinogradMinChannels = 64;
#else
constexpr int64_t kWinogradMinChannels = 32;
#endif

template <typename T>
bool use_winograd(const Geometry& g, int64_t in_channels, int64_t out_channels) {
  const auto& v = g.win;
  const bool applies = g.R == 3 && g.S == 3 && v.stride_h == 1 && v.stride_w == 1 && v.pad_h <= 2 && v.pad_w <= 2;
  switch (cpu_conv_algorithm()) {
    case ConvAlgorithm::Direct:
      return false;
    case ConvAlgorithm::Winograd:
      return applies;
    default:
      return applies && sizeof(T) == 4 && std::min(in_channels, out_channels) >= kWinogradMinChannels;
  }
}

template <typename T>
void forward(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
  if (use_winograd<T>(g, g.C, g.K))
    return winograd_conv3x3(x, g.N, g.C, g.H, g.W, w, g.K, g.win.pad_h, g.win.pad_w, bias, y);
  if (use_shifted_windows(g)) return forward_shifted(x, w, bias, g, y);
  const int64_t crs = g.crs(), pq = g.pq();
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> col_buffer;  // im2col_packed writes all of it
    T* col = g.pointwise() ? nullptr : col_buffer.get(static_cast<size_t>(packed_b_size(crs, pq, gemm_panel_width<T>())));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* xn = x + n * g.C * g.H * g.W;
      T* yn = y + n * g.K * pq;
      if (g.pointwise()) {
        parallel_gemm<T>(false, false, g.K, pq, crs, T(1), w, crs, xn, pq, T(0), yn, pq);
      } else {
        im2col_packed(xn, g, col);
        parallel_gemm_packed_b<T>(false, g.K, pq, crs, T(1), w, crs, col, T(0), yn, pq);
      }
      if (bias) {
        for (int64_t k = 0; k < g.K; ++k) {
          T* row = yn + k * pq;
          for (int64_t i = 0; i < pq; ++i) row[i] += bias[k];
        }
      }
    }
  }
}

template <typename T>
void backward(const T* dy, const T* x, const T* w, const Geometry& g, T* dx, T* dw, T* dbias) {
  if (dbias) bias_grad(dy, g, dbias);
  if (dx && use_winograd<T>(g, g.K, g.C)) {
    const std::vector<T> flipped = flip_weights(w, g);
    winograd_conv3x3(dy, g.N, g.K, g.P, g.Q, flipped.data(), g.C, 2 - g.win.pad_h, 2 - g.win.pad_w,
                     static_cast<const T*>(nullptr), dx);
    dx = nullptr;  // done
  }
  if (use_shifted_windows(g)) {
    if (dx) backward_data_shifted(dy, w, g, dx);
    if (dw) backward_weight_shifted(dy, x, g, dw);
    return;
  }
  const int64_t crs = g.crs(), pq = g.pq();
  if (dw) {
    sum_over_samples<T>(g.N, g.K * crs, dw, [&](int64_t first, int64_t last, T* acc) {
      thread_local Scratch<T> col_buffer;  // im2col writes all of it
      T* col = g.pointwise() ? nullptr : col_buffer.get(static_cast<size_t>(crs * pq));
      for (int64_t n = first; n < last; ++n) {
        const T* xn = x + n * g.C * g.H * g.W;
        if (!g.pointwise()) im2col(xn, g, col);
        parallel_gemm<T>(false, true, g.K, crs, pq, T(1), dy + n * g.K * pq, pq, g.pointwise() ? xn : col, pq,
                         T(1), acc, crs);
      }
    });
  }
  if (!dx) return;
#pragma omp parallel if (split_batch(g.N))
  {
    thread_local Scratch<T> dcol_buffer;  // GEMM writes all of it
    T* dcol = g.pointwise() ? nullptr : dcol_buffer.get(static_cast<size_t>(crs * pq));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* dyn = dy + n * g.K * pq;
      T* dxn = dx + n * g.C * g.H * g.W;
      if (g.pointwise()) {
        parallel_gemm<T>(true, false, crs, pq, g.K, T(1), w, crs, dyn, pq, T(0), dxn, pq);
      } else {
        parallel_gemm<T>(true, false, crs, pq, g.K, T(1), w, crs, dyn, pq, T(0), dcol, pq);
        std::fill(dxn, dxn + g.C * g.H * g.W, T(0));
        col2im(dcol, g, dxn);
      }
    }
  }
}

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const kernels::Window2d& win, Tensor& y) {
  const Geometry g = geometry(x, w, win);
  dispatch_floating(x.dtype(), "conv2d", [&](auto v) {
    using T = decltype(v);
    forward<T>(x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr, g, y.data<T>());
  });
}
MINIDL_REGISTER_KERNEL(conv2d_forward_kernel, CPU, conv2d_forward);

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
