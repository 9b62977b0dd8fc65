// The transports behind a ProcessGroup, each built only when its library is found (CMake's
// MINIDL_MPI, and NCCL with the CUDA backend). Internal to dist/.
#pragma once

#include <functional>
#include <memory>

#include "process_group.h"

namespace minidl::dist::detail {

/// NCCL over the CUDA device this rank uses; `share_id(bytes, n)` broadcasts rank 0's
/// ncclUniqueId to every rank (over MPI). Null in a build without NCCL.
std::unique_ptr<Backend> make_nccl_backend(int rank, int size, const std::function<void(void*, size_t)>& share_id);

}  // namespace minidl::dist::detail
