// GEMM, written for this project (the BLIS design): C = α·op(A)·op(B) + β·C, row-major,
// single-threaded (callers split the work between threads), float and double.
//
// op(B) is packed into panels of NR columns — each panel holds its columns for every k, one
// k after another — and blocks of op(A) into panels of MR rows, so that the micro-kernel reads
// both with unit stride from cache and keeps an MR × NR tile of C in vector registers for a
// whole KC-deep slab. With AVX-512 a vector holds 64 bytes and the tile is 12 × 2 vectors
// (24 zmm accumulators); with AVX2 6 × 2 vectors of 32 bytes, as in BLIS's Haswell kernel (and
// the same shape in 16-byte vectors on the generic path).
// A caller that can write op(B) straight into the panel layout (Winograd's transforms do) skips
// packing B: for conv-shaped products, where op(A) has few rows, packing B costs as much as
// multiplying.
// Why not OpenBLAS: on these machines it runs its AVX2 kernel (OPENBLAS_CORETYPE is pinned for
// stability), half of what an AVX-512 core can do. The tests compare this GEMM with OpenBLAS.
#include <algorithm>
#include <cstring>
#include <new>

#include "gemm.h"
#include "copy.h"
#include "exported.h"
#include "scratch.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

// The path this copy is compiled for (core/cpu/capability.h) sets the vector width: 64 bytes
// with AVX-512 (32 zmm registers), 32 with AVX2 (16 ymm), 16 with the x86-64 baseline (16 xmm).
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int MR = 12;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
constexpr int MR = 6;
#else
constexpr int kVectorBytes = 16;
constexpr int MR = 6;
#endif
constexpr int64_t KC = 384;  // a KC × NR panel of B stays in L1
constexpr int64_t NC = 3072;  // a KC × NC block of B stays in L3

template <typename T>
struct Vec {
  static constexpr int lanes = kVectorBytes / sizeof(T);
  typedef T type __attribute__((vector_size(kVectorBytes)));
  // The same vector at any T-aligned address: packed buffers, input windows and C's rows need not
  // be vector-aligned. Loads and stores through it are single instructions; memcpy into a local
  // array (what this file did first) made GCC keep the AVX2 tile's accumulators on the stack.
  typedef T unaligned __attribute__((vector_size(kVectorBytes), aligned(sizeof(T)), may_alias));
  static type load(const T* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(T* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};

// Register accumulators, zeroed one register at a time: `V acc[R][C] = {}` made GCC also zero a
// stack copy of them with a rep stos on every kernel call (6-13 % of a short call's time in perf).
template <typename V, int R, int C>
inline void zero(V (&acc)[R][C]) {
  for (auto& row : acc)
    for (V& v : row) v = V{};
}

// The register tile of C: MR_ rows × NV vectors. The general GEMM uses MR × 2 (its packed-B panel
// is two vectors wide); the shifted-rows GEMM of stride-1 convolutions uses 8 × 3, whose rows
// divide the usual channel counts (16, 32, 64) with no wasted tile rows.
template <typename T, int MR_, int NV>
struct Tile {
  static constexpr int rows = MR_, vectors = NV, lanes = Vec<T>::lanes, cols = NV * Vec<T>::lanes;
  static constexpr int64_t mc = 16 * MR_;  // an MC × KC block of A stays in L2
};
template <typename T>
using GemmTile = Tile<T, MR, 2>;
// For products of few rows (16 or 32 output channels) MR rows waste an eighth of the work or more
// (6-row tiles: 18 rows for 16, 36 for 32; 12-row: 24 for 16): a tile as wide and fewer rows deep,
// whose rows divide them (AVX2, 1 thread, in one process: Winograd forward + backward 1.10x at 16
// and at 32 channels; 1x1 convolutions unchanged; at 64 channels the 6-row tile stays: 3 % waste
// and 0.98x with the 4-row one).
#if defined(__AVX512F__)
template <typename T>
using ShiftedTile = Tile<T, 8, 3>;
template <typename T>
using NarrowTile = Tile<T, 8, 2>;
#else
template <typename T>
using ShiftedTile = Tile<T, 4, 3>;
template <typename T>
using NarrowTile = Tile<T, 4, 2>;
#endif

template <typename T>
constexpr int64_t NR = GemmTile<T>::cols;


// out[p·S + i] = rows[i·ld + p] for i < 4, p < kc: four rows of kc values become four columns,
// by 4 x 4 transposes (copy.h) — what packing does where k is the contiguous index.
template <typename T>
void transpose_rows4(const T* rows, int64_t ld, int64_t kc, T* out, int64_t S) {
  using Q = Quad<T>;
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    typename Q::type q[4] = {Q::load(rows + p), Q::load(rows + ld + p), Q::load(rows + 2 * ld + p),
                             Q::load(rows + 3 * ld + p)};
    transpose4<T>(q);
    for (int i = 0; i < 4; ++i) Q::store(out + (p + i) * S, q[i]);
  }
  for (; p < kc; ++p)
    for (int64_t i = 0; i < 4; ++i) out[p * S + i] = rows[i * ld + p];
}

// Packs rows [0, mc) × k [0, kc) of op(A) into panels of R rows: panel[p][r], zero-padded.
// The loops run along whichever index is contiguous in memory.
template <typename T, int R>
void pack_a(const T* a, int64_t lda, bool ta, int64_t mc, int64_t kc, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += R) {
    const int64_t rows = std::min<int64_t>(R, mc - i0);
    if (ta) {  // op(A)[i][p] = a[p][i]: rows are contiguous
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t r = 0; r < rows; ++r) out[p * R + r] = a[p * lda + i0 + r];
    } else {  // op(A)[i][p] = a[i][p]: k is contiguous, a transpose
      int64_t r = 0;
      for (; r + 4 <= rows; r += 4) transpose_rows4(a + (i0 + r) * lda, lda, kc, out + r, R);
      for (; r < rows; ++r)
        for (int64_t p = 0; p < kc; ++p) out[p * R + r] = a[(i0 + r) * lda + p];
    }
    for (int64_t r = rows; r < R; ++r)
      for (int64_t p = 0; p < kc; ++p) out[p * R + r] = 0;
    out += kc * R;
  }
}

// Packs k [0, kc) × columns [0, nc) of op(B) into panels of NR columns, `stride` apart:
// panel[p][c], zero-padded. The loops run along whichever index is contiguous in memory.
template <typename T>
void pack_b(const T* b, int64_t ldb, bool tb, int64_t kc, int64_t nc, T* out, int64_t stride) {
  constexpr int64_t W = NR<T>;
  if (!tb) {  // op(B)[p][j] = b[p][j]: a row at a time into every panel
    // (A panel at a time would read kc rows' lines, ldb apart — 4 KB for a 32 x 32 image — which
    // the hardware prefetchers do not follow; rows into panels 4 KB apart aliased the same way:
    // gemm's panels are a row longer than kc.)
    const int64_t full = nc / W * W;
    for (int64_t p = 0; p < kc; ++p) {
      const T* row = b + p * ldb;
      T* o = out + p * W;
      for (int64_t j0 = 0; j0 < full; j0 += W, o += stride) copy_short(row + j0, W, o);
      if (full < nc) {
        for (int64_t c = 0; c < nc - full; ++c) o[c] = row[full + c];
        for (int64_t c = nc - full; c < W; ++c) o[c] = 0;
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < nc; j0 += W, out += stride) {  // op(B)[p][j] = b[j][p]: a transpose
    const int64_t cols = std::min<int64_t>(W, nc - j0);
    int64_t c = 0;
    for (; c + 4 <= cols; c += 4) transpose_rows4(b + (j0 + c) * ldb, ldb, kc, out + c, W);
    for (; c < W; ++c)
      for (int64_t p = 0; p < kc; ++p) out[p * W + c] = c < cols ? b[(j0 + c) * ldb + p] : T(0);
  }
}

// Where the micro-kernel reads A's value (row r, step p): a packed panel, panel[p][r] ...
template <typename T, int R>
struct PackedA {
  const T* panel;
  T operator()(int64_t p, int r) const { return panel[p * R + r]; }
};
// ... or R rows read in place, each a window of the input (gemm_windows_a).
template <typename T, int R>
struct RowsA {
  const T* rows[R];
  T operator()(int64_t p, int r) const { return rows[r][p]; }
};

// C tile (rows × cols ≤ Tile) = α·Σ_p a(p, r)·B[p][c] + β·C tile, from A (PackedA or RowsA) and
// B rows at b_row(p) (Tile::cols values each: a packed panel's row, or a window of the input).
template <typename T, typename Tile, typename AAt, typename BRow>
void micro_kernel(int64_t kc, AAt a, BRow b_row, T alpha, T beta, T* c, int64_t ldc, int64_t rows, int64_t cols) {
  using V = typename Vec<T>::type;
  constexpr int R = Tile::rows, NV = Tile::vectors, L = Tile::lanes, W = Tile::cols;
  V acc[R][NV];
  zero(acc);
  for (int64_t p = 0; p < kc; ++p) {
    const T* b = b_row(p);
    V bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = Vec<T>::load(b + v * L);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const V ar = a(p, r) - V{};  // broadcast (x − 0 folds to x; x + 0 would not)
      for (int v = 0; v < NV; ++v) acc[r][v] += ar * bv[v];
    }
  }
  if (rows == R && cols == W) {  // a full tile: vector loads and stores straight into C
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < NV; ++v) {
        T* dst = c + r * ldc + v * L;
        V out = alpha * acc[r][v];
        if (beta != 0) out += beta * Vec<T>::load(dst);
        Vec<T>::store(dst, out);
      }
    }
    return;
  }
  T tile[R][W];  // an edge tile: only its valid part is written
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) Vec<T>::store(&tile[r][v * L], acc[r][v]);
  for (int64_t r = 0; r < rows; ++r) {
    T* row = c + r * ldc;
    for (int64_t j = 0; j < cols; ++j) row[j] = alpha * tile[r][j] + (beta == 0 ? T(0) : beta * row[j]);
  }
}

// C[m, nc] = α·op(A)[:, pc : pc + kc]·B slab + β·C, with row p of the slab's column block jr at
// b_row(jr, p).
// With `prepacked`, A's slab is already packed there (block ic at prepacked + ic·kc) and `a` is
// not read.
template <typename T, typename Tile, typename BRowAt>
void multiply_slab(bool ta, int64_t m, int64_t nc, int64_t kc, T alpha, const T* a, int64_t lda, int64_t pc,
                   BRowAt b_row, T beta, T* c, int64_t ldc, const T* prepacked = nullptr) {
  constexpr int64_t R = Tile::rows, W = Tile::cols, MC = Tile::mc;
  thread_local Scratch<T> packed_a;
  T* scratch = prepacked ? nullptr : packed_a.get(static_cast<size_t>(MC * KC));
  for (int64_t ic = 0; ic < m; ic += MC) {
    const int64_t mc = std::min(MC, m - ic);
    const T* pa = prepacked ? prepacked + ic * kc : scratch;
    if (!prepacked) pack_a<T, R>(ta ? a + pc * lda + ic : a + ic * lda + pc, lda, ta, mc, kc, scratch);
    for (int64_t jr = 0; jr < nc; jr += W)
      for (int64_t ir = 0; ir < mc; ir += R)
        micro_kernel<T, Tile>(kc, PackedA<T, R>{pa + ir * kc}, [&](int64_t p) { return b_row(jr, p); }, alpha, beta,
                              c + (ic + ir) * ldc + jr, ldc, std::min<int64_t>(R, mc - ir), std::min<int64_t>(W, nc - jr));
  }
}

// multiply_slab with GemmTile, or NarrowTile where GemmTile's rows would waste more than 1/16 of
// the m rows and NarrowTile's fewer (both read B's panels alike: two vectors wide).
template <typename T, typename BRowAt>
void multiply_slab_fitted(bool ta, int64_t m, int64_t nc, int64_t kc, T alpha, const T* a, int64_t lda, int64_t pc,
                          BRowAt b_row, T beta, T* c, int64_t ldc) {
  const auto rounded = [m](int64_t r) { return (m + r - 1) / r * r; };
  const int64_t wide = rounded(GemmTile<T>::rows), narrow = rounded(NarrowTile<T>::rows);
  if (narrow < wide && (wide - m) * 16 > m)
    multiply_slab<T, NarrowTile<T>>(ta, m, nc, kc, alpha, a, lda, pc, b_row, beta, c, ldc);
  else
    multiply_slab<T, GemmTile<T>>(ta, m, nc, kc, alpha, a, lda, pc, b_row, beta, c, ldc);
}

// B slabs packed into panels (gemm, gemm_packed_b): row p of block jr of a slab.
template <typename T>
auto packed_rows(const T* panels, int64_t panel_stride) {
  return [=](int64_t jr, int64_t p) { return panels + (jr / NR<T>) * panel_stride + p * NR<T>; };
}

// k == 0 or α == 0: C = β·C (and C = 0 for β = 0, whatever C held).
template <typename T>
bool scale_only(int64_t m, int64_t n, int64_t k, T alpha, T beta, T* c, int64_t ldc) {
  if (k != 0 && alpha != 0) return false;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0 ? T(0) : beta * c[i * ldc + j];
  return true;
}

}  // namespace

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb,
          T beta, T* c, int64_t ldc) {
  constexpr int64_t W = NR<T>;
  if (m == 0 || n == 0 || scale_only(m, n, k, alpha, beta, c, ldc)) return;
  thread_local Scratch<T> packed_b;
  const int64_t panels = (std::min(n, NC) + W - 1) / W;
  T* pb = packed_b.get(static_cast<size_t>(panels * (KC + 1) * W));
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc), stride = (kc + 1) * W;
      pack_b(tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, tb, kc, nc, pb, stride);
      // Later k-slabs add to what the first one wrote.
      multiply_slab_fitted<T>(ta, m, nc, kc, alpha, a, lda, pc, packed_rows(pb, stride), pc == 0 ? beta : T(1),
                              c + jc, ldc);
    }
  }
}

template <typename T>
void gemm_packed_b(bool ta, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* packed_b,
                   T beta, T* c, int64_t ldc) {
  constexpr int64_t W = NR<T>;
  if (m == 0 || n == 0 || scale_only(m, n, k, alpha, beta, c, ldc)) return;
  for (int64_t jc = 0; jc < n; jc += NC)
    for (int64_t pc = 0; pc < k; pc += KC)
      multiply_slab_fitted<T>(ta, m, std::min(NC, n - jc), std::min(KC, k - pc), alpha, a, lda, pc,
                              packed_rows(packed_b + (jc / W) * k * W + pc * W, k * W), pc == 0 ? beta : T(1),
                              c + jc, ldc);
}

template <typename T>
ShiftedA<T>::ShiftedA(int64_t m, int64_t k, const T* a, int64_t lda) : m_(m), k_(k) {
  constexpr int64_t R = ShiftedTile<T>::rows, MC = ShiftedTile<T>::mc;
  const int64_t rows = (m + R - 1) / R * R;  // panels are zero-padded to whole tiles
  data_.resize(static_cast<size_t>(rows * k));
  for (int64_t pc = 0; pc < k; pc += KC) {  // the slabs gemm_shifted_b multiplies, in its order
    const int64_t kc = std::min(KC, k - pc);
    for (int64_t ic = 0; ic < m; ic += MC)
      pack_a<T, R>(a + ic * lda + pc, lda, false, std::min(MC, m - ic), kc, data_.data() + pc * rows + ic * kc);
  }
}

template <typename T>
void gemm_shifted_b(const ShiftedA<T>& a, int64_t n, const T* b, const int64_t* offsets, T beta, T* c, int64_t ldc) {
  constexpr int64_t R = ShiftedTile<T>::rows;
  const int64_t m = a.rows(), k = a.depth(), rows = (m + R - 1) / R * R;
  if (m == 0 || n == 0 || scale_only(m, n, k, T(1), beta, c, ldc)) return;
  for (int64_t pc = 0; pc < k; pc += KC) {
    const int64_t* slab = offsets + pc;
    multiply_slab<T, ShiftedTile<T>>(false, m, n, std::min(KC, k - pc), T(1), static_cast<const T*>(nullptr), 0, pc,
                                     [=](int64_t jr, int64_t p) { return b + slab[p] + jr; }, pc == 0 ? beta : T(1),
                                     c, ldc, a.packed() + pc * rows);
  }
}

template <typename T>
int64_t gemm_shifted_b_overread() {
  return ShiftedTile<T>::cols;
}

template <typename T>
void gemm_windows_a(int64_t m, int64_t n, int64_t k, const T* a, const int64_t* offsets, const T* b, int64_t ldb,
                    T beta, T* c, int64_t ldc) {
  using Tile = GemmTile<T>;
  constexpr int R = Tile::rows;
  constexpr int64_t W = Tile::cols;
  if (m == 0 || n == 0 || scale_only(m, n, k, T(1), beta, c, ldc)) return;
  thread_local Scratch<T> packed_b;
  T* pb = packed_b.get(static_cast<size_t>(packed_b_size(KC, n, W)));
  for (int64_t pc = 0; pc < k; pc += KC) {
    const int64_t kc = std::min(KC, k - pc);
    pack_b(b + pc, ldb, /*tb=*/true, kc, n, pb, kc * W);  // op(B)[p][j] = b[j][pc + p]
    // A panel of B stays in L1 while every tile of rows passes over it.
    for (int64_t jr = 0; jr < n; jr += W)
      for (int64_t ir = 0; ir < m; ir += R) {
        RowsA<T, R> rows;  // an edge tile repeats its last row; the repeated results are dropped
        for (int r = 0; r < R; ++r) rows.rows[r] = a + offsets[std::min<int64_t>(ir + r, m - 1)] + pc;
        const T* panel = pb + (jr / W) * kc * W;
        micro_kernel<T, Tile>(kc, rows, [=](int64_t p) { return panel + p * W; }, T(1), pc == 0 ? beta : T(1),
                              c + ir * ldc + jr, ldc, std::min<int64_t>(R, m - ir), std::min<int64_t>(W, n - jr));
      }
  }
}

namespace {
// The row-dot tile: RA rows of A × RB rows of B, each pair's dot product in one vector of
// partial sums (RA + 1 + RA·RB vector registers: 29 of AVX-512's 32, 13 of AVX2's 16), summed
// across lanes once at the end.
#if defined(__AVX512F__)
constexpr int RA = 4, RB = 6;
#else
constexpr int RA = 2, RB = 5;
#endif

// The sum of the lanes of the vector of `Bytes` bytes at v, by halving: log2(lanes) vector adds
// rather than lanes − 1 dependent scalar ones.
template <typename T, size_t Bytes>
T sum_lanes(const T* v) {
  if constexpr (Bytes == sizeof(T)) {
    return *v;
  } else {
    typedef T Half __attribute__((vector_size(Bytes / 2)));
    Half lo, hi;
    std::memcpy(&lo, v, sizeof lo);
    std::memcpy(&hi, v + Bytes / 2 / sizeof(T), sizeof hi);
    lo += hi;
    T halves[Bytes / 2 / sizeof(T)];
    std::memcpy(halves, &lo, sizeof lo);
    return sum_lanes<T, Bytes / 2>(halves);
  }
}

// Left alone, GCC folds bv's load into each of the RA multiply-adds that use it: RA unaligned
// loads instead of one, and the kernel runs at half speed, bound by loads. An empty asm that
// "changes" the vector pins it in a register after a single load (where one register holds it:
// with AVX; a baseline x86-64 build splits the vector in two).
template <typename V>
inline void in_register(V& v) {
#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}

// One flat loop over l: with a loop over samples around it GCC kept acc in memory, which is why
// conv.cpp lays a chunk of samples end to end instead of calling this once per sample.
template <typename T>
void rows_dot_tile(int64_t len, const T* const* a, const T* const* b, T (&out)[RA][RB]) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  V acc[RA][RB];
  zero(acc);
  int64_t l = 0;
  for (; l + L <= len; l += L) {
    V av[RA];
    for (int i = 0; i < RA; ++i) std::memcpy(&av[i], a[i] + l, sizeof(V));
    for (int j = 0; j < RB; ++j) {
      V bv;
      std::memcpy(&bv, b[j] + l, sizeof bv);
      in_register(bv);
      for (int i = 0; i < RA; ++i) acc[i][j] += av[i] * bv;
    }
  }
  for (int i = 0; i < RA; ++i)
    for (int j = 0; j < RB; ++j) {
      T lanes[L];
      std::memcpy(lanes, &acc[i][j], sizeof lanes);
      T sum = sum_lanes<T, sizeof(V)>(lanes);
      for (int64_t t = l; t < len; ++t) sum += a[i][t] * b[j][t];
      out[i][j] = sum;
    }
}
}  // namespace

template <typename T>
void gemm_rows_dot(int64_t m, int64_t n, int64_t len, const T* a, int64_t lda, const T* b, const int64_t* offsets,
                   T beta, T* c, int64_t ldc) {
  for (int64_t i0 = 0; i0 < m; i0 += RA)
    for (int64_t j0 = 0; j0 < n; j0 += RB) {
      // An edge tile repeats its last row of A or B; the repeated results are dropped.
      const T* arows[RA];
      const T* brows[RB];
      for (int i = 0; i < RA; ++i) arows[i] = a + std::min<int64_t>(i0 + i, m - 1) * lda;
      for (int j = 0; j < RB; ++j) brows[j] = b + offsets[std::min<int64_t>(j0 + j, n - 1)];
      T out[RA][RB];
      rows_dot_tile<T>(len, arows, brows, out);
      const int64_t rows = std::min<int64_t>(RA, m - i0), cols = std::min<int64_t>(RB, n - j0);
      for (int64_t i = 0; i < rows; ++i) {
        T* dst = c + (i0 + i) * ldc + j0;
        if (beta == 0) {
          for (int64_t j = 0; j < cols; ++j) dst[j] = out[i][j];
        } else {
          for (int64_t j = 0; j < cols; ++j) dst[j] = out[i][j] + beta * dst[j];
        }
      }
    }
}

template <typename T>
int64_t gemm_panel_width() {
  return NR<T>;
}

template int64_t gemm_panel_width<float>();
template int64_t gemm_panel_width<double>();
template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);
template class ShiftedA<float>;
template class ShiftedA<double>;
template void gemm_shifted_b<float>(const ShiftedA<float>&, int64_t, const float*, const int64_t*, float, float*,
                                    int64_t);
template void gemm_shifted_b<double>(const ShiftedA<double>&, int64_t, const double*, const int64_t*, double, double*,
                                     int64_t);
template int64_t gemm_shifted_b_overread<float>();
template int64_t gemm_shifted_b_overread<double>();
template void gemm_windows_a<float>(int64_t, int64_t, int64_t, const float*, const int64_t*, const float*, int64_t,
                                    float, float*, int64_t);
template void gemm_windows_a<double>(int64_t, int64_t, int64_t, const double*, const int64_t*, const double*, int64_t,
                                     double, double*, int64_t);
template void gemm_rows_dot<float>(int64_t, int64_t, int64_t, const float*, int64_t, const float*, const int64_t*,
                                   float, float*, int64_t);
template void gemm_rows_dot<double>(int64_t, int64_t, int64_t, const double*, int64_t, const double*, const int64_t*,
                                    double, double*, int64_t);
template void gemm_packed_b<float>(bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, float,
                                   float*, int64_t);
template void gemm_packed_b<double>(bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                                    double, double*, int64_t);

MINIDL_REGISTER_KERNEL(cpu_sgemm_kernel, CPU, gemm<float>);
MINIDL_REGISTER_KERNEL(cpu_dgemm_kernel, CPU, gemm<double>);
MINIDL_REGISTER_KERNEL(cpu_sgemm_packed_b_kernel, CPU, gemm_packed_b<float>);
MINIDL_REGISTER_KERNEL(cpu_gemm_panel_width_kernel, CPU, gemm_panel_width<float>);

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
