// Broadcasting planned once for any device: operands are viewed with stride 0 on broadcast dims,
// and neighbouring dims that stay contiguous in every operand are merged, so
// [N, C, H, W] + [1, C, 1, 1] becomes [N·C, H·W] with strides [1, 0] for the second operand.
#pragma once

#include "shape.h"

namespace minidl {

struct BroadcastPlan {
  Shape sizes;      // merged output sizes (at least one dim)
  Shape a_strides;  // element strides into a, 0 where a is broadcast
  Shape b_strides;
};

inline Shape broadcast_strides(const Shape& in, const Shape& out) {
  const size_t lead = out.size() - in.size();
  Shape strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = out.size(); i-- > lead;) {
    const int64_t size = in[i - lead];
    strides[i] = (size == 1 && out[i] != 1) ? 0 : stride;
    stride *= size;
  }
  return strides;
}

inline BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const Shape& out) {
  const Shape sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  BroadcastPlan p;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;  // size-1 dims never move any index
    const bool merge = !p.sizes.empty() && p.a_strides.back() == sa[i] * out[i] &&
                       p.b_strides.back() == sb[i] * out[i];
    if (merge) {
      p.sizes.back() *= out[i];
      p.a_strides.back() = sa[i];
      p.b_strides.back() = sb[i];
    } else {
      p.sizes.push_back(out[i]);
      p.a_strides.push_back(sa[i]);
      p.b_strides.push_back(sb[i]);
    }
  }
  if (p.sizes.empty()) p = {{1}, {1}, {1}};
  return p;
}

}  // namespace minidl
