// ProcessGroup: the queue of collectives and the thread that runs them; a group of one.
#include "process_group.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "../core/kernels.h"

namespace minidl::dist {

void Work::wait() const {
  if (!state_) return;
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->done_cv.wait(lock, [&] { return state_->done; });
  if (state_->error) std::rethrow_exception(state_->error);
}

bool Work::completed() const {
  if (!state_) return true;
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->done;
}

double Work::seconds() const {
  if (!state_) return 0;
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->seconds;
}

ProcessGroup::ProcessGroup() = default;

ProcessGroup::ProcessGroup(int rank, int size, std::unique_ptr<Backend> cpu, std::unique_ptr<Backend> cuda,
                           std::function<void()> finalize)
    : rank_(rank), size_(size), cpu_(std::move(cpu)), cuda_(std::move(cuda)), finalize_(std::move(finalize)) {
  MINIDL_CHECK(size >= 1 && rank >= 0 && rank < size, "ProcessGroup: expected 0 <= rank < size, found rank ", rank,
               " of ", size);
  MINIDL_CHECK(size == 1 || cpu_, "ProcessGroup: a group of ", size, " processes needs a backend");
  if (size_ > 1) worker_ = std::thread([this] { run(); });
}

ProcessGroup::~ProcessGroup() {
  // Left by an exception (a rank failing half-way): finalizing would wait for the other ranks,
  // which wait in a collective for this one. End the job instead.
  if (size_ > 1 && std::uncaught_exceptions() > 0)
    abort("dist: rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
          " is leaving on an error before its collectives are done; ending the job");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  if (worker_.joinable()) worker_.join();
  cuda_.reset();
  cpu_.reset();
  if (finalize_) finalize_();
}

std::string ProcessGroup::backend_name() const {
  if (!cpu_) return "none";
  return cuda_ ? cpu_->name() + "+" + cuda_->name() : cpu_->name();
}

void ProcessGroup::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything issued has run
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

Work ProcessGroup::submit(const char* what, const Tensor& t, std::function<void(Backend&)> op) {
  MINIDL_CHECK(t.defined(), "dist::", what, ": expected a tensor, found undefined");
  Work work;
  work.state_ = std::make_shared<Work::State>();
  if (size_ == 1) {  // nothing to exchange; op is not run
    work.state_->done = true;
    return work;
  }
  Backend* backend = t.device().is_cuda() ? cuda_.get() : cpu_.get();
  MINIDL_CHECK(backend, "dist::", what, ": no backend for tensors on ", t.device(),
               " in this build (NCCL is built with CUDA when /usr/local/cuda has it)");
  auto state = work.state_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back([state, backend, op = std::move(op)] {
      std::exception_ptr error;
      const auto start = std::chrono::steady_clock::now();
      try {
        op(*backend);
      } catch (...) {
        error = std::current_exception();
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::lock_guard<std::mutex> state_lock(state->mutex);
      state->error = error;
      state->seconds = seconds;
      state->done = true;
      state->done_cv.notify_all();
    });
  }
  queued_.notify_one();
  return work;
}

Work ProcessGroup::all_reduce(Tensor t, ReduceOp op) {
  MINIDL_CHECK(!t.defined() || op == ReduceOp::Sum || is_floating(t.dtype()),
               "dist::all_reduce: a mean needs a float tensor, found ", t.dtype());
  const double scale = 1.0 / size_;
  return submit("all_reduce", t, [t, op, scale](Backend& b) mutable {
    b.all_reduce_sum(t);
    if (op == ReduceOp::Mean) kernels::copy_(t, kernels::scale(t, scale));
  });
}

Work ProcessGroup::broadcast(Tensor t, int root) {
  MINIDL_CHECK(root >= 0 && root < size_, "dist::broadcast: expected a root rank in [0, ", size_, "), found ", root);
  return submit("broadcast", t, [t, root](Backend& b) mutable { b.broadcast(t, root); });
}

Work ProcessGroup::all_gather(Tensor in, Tensor out) {
  MINIDL_CHECK(in.defined() && out.defined() && out.numel() == in.numel() * size_ && out.dtype() == in.dtype() &&
                   out.device() == in.device(),
               "dist::all_gather: expected an output of ", size_, " x ", in.defined() ? in.numel() : 0, " ",
               in.defined() ? in.dtype() : kFloat32, " elements on the input's device");
  if (size_ == 1) {
    kernels::copy_(out, kernels::reshape(in, out.shape()));
    return Work();
  }
  return submit("all_gather", in, [in, out](Backend& b) mutable { b.all_gather(in, out); });
}

void ProcessGroup::barrier() {
  if (size_ == 1) return;
  Work work = submit("barrier", Tensor::empty({1}), [](Backend& b) { b.barrier(); });
  work.wait();
}

void ProcessGroup::abort(const std::string& message, int code) const {
  std::cerr << message << std::endl;
  if (cpu_) cpu_->abort(code);
  std::_Exit(code);
}

int world_size_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') {
      char* end = nullptr;
      const long n = std::strtol(v, &end, 10);
      MINIDL_CHECK(end != v && *end == '\0' && n >= 1, "dist: environment variable ", name,
                   ": expected a positive process count, found '", v, "'");
      return static_cast<int>(n);
    }
  }
  return 1;
}

}  // namespace minidl::dist
