// Differentiable collectives (torch.distributed.nn.functional): ops whose backward is itself a
// collective, for layers whose forward mixes the ranks' data (SyncBatchNorm).
#pragma once

#include "process_group.h"

namespace minidl::dist {

/// y = Σ_ranks x, the same on every rank. The total loss being the sum of the ranks' losses,
/// dL/dx on each rank is Σ_ranks dL_rank/dy: the backward all-reduces the gradient too.
Tensor all_reduce_sum(const Tensor& x, ProcessGroup& group);

}  // namespace minidl::dist
