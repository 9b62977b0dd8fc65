// The MPI backend (CPU tensors) and init_process_group. Built with MINIDL_WITH_MPI; without it
// init_process_group still gives a group of one, and refuses a job of several processes.
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "backends.h"
#include "process_group.h"

#if MINIDL_WITH_MPI
#include <mpi.h>
#endif

namespace minidl::dist {

#if MINIDL_WITH_MPI
namespace {

MPI_Datatype mpi_type(DType dtype, const char* what) {
  switch (dtype) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    case kInt64: return MPI_INT64_T;
    default: MINIDL_FAIL("dist::", what, ": MPI has no type for ", dtype);
  }
}

class MpiBackend final : public Backend {
 public:
  MpiBackend(MPI_Comm comm, int rank, int size) : comm_(comm), rank_(rank), size_(size) {}
  std::string name() const override { return "mpi"; }

  void all_reduce_sum(Tensor& t) override {
    const MPI_Datatype type = check(t, "all_reduce");
    in_pieces(t, "MPI_Iallreduce", [&](char* data, int n, MPI_Request* request) {
      return MPI_Iallreduce(MPI_IN_PLACE, data, n, type, MPI_SUM, comm_, request);
    });
  }

  void broadcast(Tensor& t, int root) override {
    const MPI_Datatype type = check(t, "broadcast");
    in_pieces(t, "MPI_Ibcast", [&](char* data, int n, MPI_Request* request) {
      return MPI_Ibcast(data, n, type, root, comm_, request);
    });
  }

  void all_gather(const Tensor& in, Tensor& out) override {
    const MPI_Datatype type = check(in, "all_gather");
    check(out, "all_gather");
    MINIDL_CHECK(in.numel() <= INT_MAX / size_, "dist::all_gather: at most ", INT_MAX / size_,
                 " elements per rank, found ", in.numel());
    ok(MPI_Allgather(in.raw_data(), static_cast<int>(in.numel()), type, out.raw_data(), static_cast<int>(in.numel()),
                     type, comm_),
       "MPI_Allgather");
  }

  void barrier() override { ok(MPI_Barrier(comm_), "MPI_Barrier"); }
  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  // Starts `start(data, n, &request)` on each piece of t in turn (MPI counts are ints: a tensor
  // of more than INT_MAX elements goes in pieces) and waits for it. A blocking MPI call would
  // spin while the other ranks catch up, and on a machine with a core per rank that spinning
  // thread takes the core from this rank's backward, which it is meant to overlap. So: a
  // nonblocking call, tested every 50 µs, sleeping in between.
  template <typename Start>
  void in_pieces(Tensor& t, const char* call, Start start) const {
    char* data = static_cast<char*>(t.raw_data());
    const size_t item = element_size(t.dtype());
    for (int64_t done = 0; done < t.numel();) {
      const int n = static_cast<int>(std::min<int64_t>(t.numel() - done, INT_MAX / 2));
      MPI_Request request;
      ok(start(data + done * item, n, &request), call);
      for (int finished = 0; !finished;) {
        ok(MPI_Test(&request, &finished, MPI_STATUS_IGNORE), call);
        if (!finished) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      done += n;
    }
  }

  MPI_Datatype check(const Tensor& t, const char* what) const {
    MINIDL_CHECK(t.device().is_cpu(), "dist::", what, ": the MPI backend takes CPU tensors, found one on ", t.device());
    return mpi_type(t.dtype(), what);
  }
  void ok(int code, const char* call) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    MINIDL_FAIL("dist: ", call, " failed on rank ", rank_, " of ", size_, ": ", std::string(text, length));
  }

  MPI_Comm comm_;
  int rank_, size_;
};

}  // namespace

bool mpi_available() { return true; }

std::unique_ptr<ProcessGroup> init_process_group() {
  const int expected = world_size_from_environment();
  if (expected == 1) return std::make_unique<ProcessGroup>();
  int initialized = 0;
  MPI_Initialized(&initialized);
  MINIDL_CHECK(!initialized, "dist::init_process_group: MPI is already initialized in this process (call it once)");
  // The group's own thread makes every MPI call after this one (collectives are queued), and
  // the main thread only the last (MPI_Finalize, after that thread has stopped): "serialized".
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  MINIDL_CHECK(provided >= MPI_THREAD_SERIALIZED, "dist::init_process_group: this MPI gives thread level ", provided,
               ", expected at least MPI_THREAD_SERIALIZED");
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  MINIDL_CHECK(size == expected, "dist::init_process_group: the launcher announced ", expected,
               " processes, MPI_COMM_WORLD has ", size);
  std::unique_ptr<Backend> cuda = detail::make_nccl_backend(rank, size, [comm](void* bytes, size_t n) {
    MPI_Bcast(bytes, static_cast<int>(n), MPI_BYTE, 0, comm);
  });
  auto finalize = [comm]() mutable {
    MPI_Comm_free(&comm);
    MPI_Finalize();
  };
  return std::make_unique<ProcessGroup>(rank, size, std::make_unique<MpiBackend>(comm, rank, size), std::move(cuda),
                                        finalize);
}

#else  // no MPI in this build

bool mpi_available() { return false; }

std::unique_ptr<ProcessGroup> init_process_group() {
  const int expected = world_size_from_environment();
  MINIDL_CHECK(expected == 1, "dist::init_process_group: started as one of ", expected,
               " processes, but this build has no MPI (install libopenmpi-dev and rebuild with MINIDL_MPI=AUTO or ON)");
  return std::make_unique<ProcessGroup>();
}

#endif

}  // namespace minidl::dist
