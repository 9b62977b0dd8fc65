// Reductions (sum, max) over any set of dims, on the CPU.
// The input's dims are merged into runs of neighbouring dims that are all reduced or all
// kept; a reduction over {0, 2, 3} of [N, C, H, W] becomes runs N(r) C(k) HW(r). The last
// run is the contiguous inner loop. Sums accumulate in double so float32 sums of many
// elements keep their precision.
#include <cmath>
#include <limits>

#include "../elementwise_ops.h"
#include "../kernels/reduce.h"
#include "parallel.h"

namespace minidl::cpu {
inline namespace MINIDL_CPU_CAPABILITY {
namespace {

struct Run {
  int64_t size;
  bool reduced;
  int64_t out_stride = 0;  // stride in the output, for kept runs
};

std::vector<Run> merge_runs(const Shape& shape, const std::vector<bool>& reduced) {
  std::vector<Run> runs;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!runs.empty() && runs.back().reduced == reduced[d]) runs.back().size *= shape[d];
    else runs.push_back({shape[d], reduced[d]});
  }
  int64_t stride = 1;
  for (size_t i = runs.size(); i-- > 0;) {
    if (runs[i].reduced) continue;
    runs[i].out_stride = stride;
    stride *= runs[i].size;
  }
  return runs;
}

template <typename T>
void reduce_typed(kernels::Reduction how, const T* x, int64_t n, const std::vector<Run>& runs, double* acc) {
  const bool is_sum = how == kernels::Reduction::Sum;
  auto combine = [is_sum](double a, double b) { return is_sum ? a + b : ops::max_with_nan(a, b); };
  if (runs.empty()) {  // every dim has size 1
    acc[0] = combine(acc[0], x[0]);
    return;
  }
  const Run& last = runs.back();
  const int64_t inner = last.size, outer = n / inner, rank = static_cast<int64_t>(runs.size());

  auto body = [&](int64_t o) {
    int64_t oo = 0, rest = o;
    for (int64_t r = rank - 2; r >= 0; --r) {
      const int64_t idx = rest % runs[r].size;
      rest /= runs[r].size;
      oo += idx * runs[r].out_stride;
    }
    const T* px = x + o * inner;
    if (last.reduced) {
      double a = acc[oo];
      if (is_sum) {
        for (int64_t i = 0; i < inner; ++i) a += px[i];
      } else {
        for (int64_t i = 0; i < inner; ++i) a = ops::max_with_nan(a, static_cast<double>(px[i]));
      }
      acc[oo] = a;
    } else {
      for (int64_t i = 0; i < inner; ++i) acc[oo + i] = combine(acc[oo + i], px[i]);
    }
  };

  // Threads may split the first run only when it is kept: then they write disjoint outputs.
  const int64_t n0 = runs[0].size, per0 = rank > 1 ? outer / n0 : outer;
  const bool parallel = rank > 1 && !runs[0].reduced && n > kParallelGrain;
#pragma omp parallel for if (parallel)
  for (int64_t i0 = 0; i0 < (rank > 1 ? n0 : 1); ++i0)
    for (int64_t o = i0 * per0; o < (i0 + 1) * per0; ++o) body(o);
}

void reduce(kernels::Reduction how, const Tensor& x, const std::vector<bool>& reduced, Tensor& out) {
  const double init = how == kernels::Reduction::Sum ? 0.0 : -std::numeric_limits<double>::infinity();
  std::vector<double> acc(static_cast<size_t>(out.numel()), init);
  dispatch_floating(x.dtype(), "reduce", [&](auto v) {
    using T = decltype(v);
    reduce_typed(how, x.data<T>(), x.numel(), merge_runs(x.shape(), reduced), acc.data());
    T* po = out.data<T>();
    for (size_t i = 0; i < acc.size(); ++i) po[i] = static_cast<T>(acc[i]);
  });
}
MINIDL_REGISTER_KERNEL(reduce_kernel, CPU, reduce);

}  // namespace

}  // namespace MINIDL_CPU_CAPABILITY
}  // namespace minidl::cpu
