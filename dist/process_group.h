// ProcessGroup: the processes of one data-parallel job and the collectives between them
// (PyTorch's torch.distributed process group). Each process is a rank in [0, size); every rank
// runs the same program on its own slice of the data.
//
// Collectives run on one background thread, in the order they are issued, so that backward can
// go on computing while a gradient bucket is all-reduced (dist/distributed.h). Each returns a
// Work to wait on; every rank must issue the same collectives in the same order (MPI's rule too).
//
// Backends: MPI (OpenMPI from Debian) for CPU tensors; NCCL for CUDA tensors when the build has
// CUDA and NCCL (its communicator is set up over MPI). A group of size 1 (a program started
// without mpirun) needs neither: its collectives return at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "../core/tensor.h"

namespace minidl::dist {

enum class ReduceOp { Sum, Mean };  // Mean: the sum divided by the group's size

/// The blocking collectives one transport implements, run on the group's thread only.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "mpi", "nccl"
  virtual void all_reduce_sum(Tensor& t) = 0;
  virtual void broadcast(Tensor& t, int root) = 0;
  /// out [size * in.numel()] gets every rank's `in`, in rank order.
  virtual void all_gather(const Tensor& in, Tensor& out) = 0;
  virtual void barrier() = 0;
  /// Ends every rank of the job (MPI_Abort); called from any thread.
  virtual void abort(int code) = 0;
};

/// A handle on a collective that may still be running; wait() rethrows its error.
class Work {
 public:
  Work() = default;
  void wait() const;
  bool completed() const;
  /// Seconds the transport spent on it (0 until it completes, and for a group of one).
  double seconds() const;

 private:
  friend class ProcessGroup;
  struct State {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    double seconds = 0;
    std::exception_ptr error;
  };
  std::shared_ptr<State> state_;
};

class ProcessGroup {
 public:
  /// A group of one process: collectives are no-ops (all_gather copies).
  ProcessGroup();
  /// rank, size and the backend for CPU tensors (and one for CUDA tensors, or null).
  /// `finalize` runs after the group's thread has stopped (MPI_Finalize).
  ProcessGroup(int rank, int size, std::unique_ptr<Backend> cpu, std::unique_ptr<Backend> cuda,
               std::function<void()> finalize);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_main() const { return rank_ == 0; }
  /// "mpi", "mpi+nccl", or "none" for a group of one.
  std::string backend_name() const;

  /// In place on every rank: t becomes the sum (or mean) of the ranks' t.
  Work all_reduce(Tensor t, ReduceOp op = ReduceOp::Sum);
  /// In place: every rank's t becomes root's.
  Work broadcast(Tensor t, int root = 0);
  /// out ([size, *in.shape], allocated by the caller) gets each rank's `in` in rank order.
  Work all_gather(Tensor in, Tensor out);
  void barrier();

  /// Ends every rank of the job now, after printing `message` to stderr (a program names the
  /// rank in it: "train: rank 1 of 2: ..."):
  /// what a program does when one rank fails, so the others do not wait for it forever.
  [[noreturn]] void abort(const std::string& message, int code = 1) const;

 private:
  Work submit(const char* what, const Tensor& t, std::function<void(Backend&)> op);
  void run();

  int rank_ = 0, size_ = 1;
  std::unique_ptr<Backend> cpu_, cuda_;
  std::function<void()> finalize_;

  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
};

/// The job this process belongs to: under mpirun (OpenMPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE)
/// a group over MPI_COMM_WORLD — an error if this build has no MPI — else a group of one.
/// MPI is initialized once per process: call it once, early in main.
std::unique_ptr<ProcessGroup> init_process_group();

/// The size the launcher announced in the environment (1 without one).
int world_size_from_environment();

/// Is MPI (and NCCL) compiled into this build?
bool mpi_available();
bool nccl_available();

}  // namespace minidl::dist
