// The NCCL backend (CUDA tensors), built with MINIDL_WITH_NCCL. Each rank drives one GPU: its
// local rank among the processes of its machine, modulo the GPUs visible. NCCL's calls are
// queued on the device's one stream (core/cuda/runtime.h), after the kernels that made the
// gradients and before the ones that read them, so nothing here waits for the GPU.
#include "backends.h"

#if MINIDL_WITH_NCCL
#include <nccl.h>

#include <cstdlib>
#include <string>

#include "../core/cuda/runtime.h"
#include "../core/device.h"
#endif

namespace minidl::dist {

#if MINIDL_WITH_NCCL
namespace {

ncclDataType_t nccl_type(DType dtype, const char* what) {
  switch (dtype) {
    case kFloat32: return ncclFloat32;
    case kFloat64: return ncclFloat64;
    case kInt64: return ncclInt64;
    default: MINIDL_FAIL("dist::", what, ": NCCL has no type for ", dtype);
  }
}

int local_rank(int rank) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "LOCAL_RANK"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return rank;
}

class NcclBackend final : public Backend {
 public:
  NcclBackend(int rank, int size, int device, const ncclUniqueId& id) : rank_(rank), size_(size), device_(device) {
    cuda::set_device(device_, "dist (NCCL)");
    ok(ncclCommInitRank(&comm_, size, id, rank), "ncclCommInitRank");
  }
  ~NcclBackend() override { ncclCommDestroy(comm_); }
  std::string name() const override { return "nccl"; }

  void all_reduce_sum(Tensor& t) override {
    check(t, "all_reduce");
    ok(ncclAllReduce(t.raw_data(), t.raw_data(), static_cast<size_t>(t.numel()), nccl_type(t.dtype(), "all_reduce"),
                     ncclSum, comm_, stream()),
       "ncclAllReduce");
  }
  void broadcast(Tensor& t, int root) override {
    check(t, "broadcast");
    ok(ncclBroadcast(t.raw_data(), t.raw_data(), static_cast<size_t>(t.numel()), nccl_type(t.dtype(), "broadcast"),
                     root, comm_, stream()),
       "ncclBroadcast");
  }
  void all_gather(const Tensor& in, Tensor& out) override {
    check(in, "all_gather");
    check(out, "all_gather");
    ok(ncclAllGather(in.raw_data(), out.raw_data(), static_cast<size_t>(in.numel()), nccl_type(in.dtype(), "all_gather"),
                     comm_, stream()),
       "ncclAllGather");
  }
  // A barrier across GPUs: an all-reduce of one element, waited for.
  void barrier() override {
    Tensor one = Tensor::empty({1}, kFloat32, Device::cuda(device_));
    all_reduce_sum(one);
    cuda::synchronize();
  }
  void abort(int) override { ncclCommAbort(comm_); }

 private:
  cudaStream_t stream() const { return cuda::stream(device_); }
  void check(const Tensor& t, const char* what) const {
    MINIDL_CHECK(t.device() == Device::cuda(device_), "dist::", what, ": rank ", rank_, " drives cuda:", device_,
                 " with NCCL, found a tensor on ", t.device());
  }
  void ok(ncclResult_t status, const char* call) const {
    if (status == ncclSuccess) return;
    MINIDL_FAIL("dist: ", call, " failed on rank ", rank_, " of ", size_, ": ", ncclGetErrorString(status));
  }

  int rank_, size_, device_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_available() { return true; }

namespace detail {
std::unique_ptr<Backend> make_nccl_backend(int rank, int size, const std::function<void(void*, size_t)>& share_id) {
  // Every rank takes part in sharing the id, so none waits alone; rank 0 decides: no GPU there
  // (an id of zeros), no NCCL anywhere.
  ncclUniqueId id{};
  const bool have_gpu = cuda::device_count() > 0;
  if (rank == 0 && have_gpu) ncclGetUniqueId(&id);
  share_id(&id, sizeof(id));
  bool group_has_gpu = false;
  for (char c : id.internal) group_has_gpu = group_has_gpu || c != 0;
  if (!group_has_gpu) return nullptr;
  MINIDL_CHECK(have_gpu, "dist: rank ", rank, " of ", size, " sees no GPU, but rank 0 set up NCCL");
  return std::make_unique<NcclBackend>(rank, size, local_rank(rank) % cuda::device_count(), id);
}
}  // namespace detail

#else  // no NCCL in this build

bool nccl_available() { return false; }

namespace detail {
std::unique_ptr<Backend> make_nccl_backend(int, int, const std::function<void(void*, size_t)>&) { return nullptr; }
}  // namespace detail

#endif

}  // namespace minidl::dist
