// DistributedDataParallel (PyTorch's torch.nn.parallel.DistributedDataParallel): every rank holds
// the whole model, runs forward and backward on its own slice of the global batch, and the
// gradients are averaged over the ranks before the optimizer steps — so every rank takes the
// same step and the replicas stay equal.
//
// Gradients go in buckets of about bucket_cap_mb, filled in reverse parameter order (the order
// backward produces them). A hook on each parameter (register_post_accumulate_grad_hook) copies
// its gradient into its bucket once backward is done with it; when a bucket is full its
// all-reduce is queued on the group's thread and runs while backward computes the rest.
// Buckets are launched in index order on every rank, whatever order the hooks fire in, so the
// ranks' collectives always match. synchronize() waits for the last ones and writes the means
// back into each parameter's .grad().
//
//   auto group = dist::init_process_group();
//   dist::DistributedDataParallel ddp(*model, *group);   // broadcasts rank 0's weights
//   Tensor loss = cross_entropy(ddp.forward(x_local), y_local);
//   loss.backward();
//   ddp.synchronize();
//   optimizer.step();
//
// Not supported: accumulating several backward passes before one synchronize() (an error says
// so), and parameters that only some ranks use.
#pragma once

#include <memory>
#include <vector>

#include "../layers/module.h"
#include "process_group.h"

namespace minidl::dist {

struct DdpOptions {
  double bucket_cap_mb = 25;      // PyTorch's default
  bool overlap = true;            // false: all buckets are reduced in synchronize(), after backward
  bool broadcast_buffers = true;  // rank 0's buffers (BN running stats) to every rank in each forward
};

/// What the last step's synchronize() measured.
struct DdpStats {
  int64_t buckets = 0, bytes = 0;
  double reduce_seconds = 0;  // the transport's time over all buckets (on the group's thread)
  double wait_seconds = 0;    // the time synchronize() waited: communication backward did not hide
};

class DistributedDataParallel {
 public:
  DistributedDataParallel(Module& module, ProcessGroup& group, DdpOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// The module's forward, after rank 0's buffers are broadcast (in training, if asked).
  Tensor forward(const Tensor& x);
  /// After backward: waits for every bucket and sets each parameter's .grad() to the ranks' mean.
  void synchronize();

  Module& module() { return module_; }
  ProcessGroup& group() { return group_; }
  const DdpStats& last_stats() const { return stats_; }
  /// Summed over every synchronize() so far (buckets and bytes: per step).
  const DdpStats& total_stats() const { return totals_; }
  int64_t steps() const { return steps_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Slot {
    Tensor param;
    int64_t offset;  // in the bucket's flat buffer
    bool ready = false;
  };
  struct Bucket {
    Tensor flat;  // the gradients of its slots, one after the other
    std::vector<Slot> slots;
    int64_t pending = 0;
    Work work;  // empty until launched
  };

  void mark_ready(size_t bucket, size_t slot, const Tensor& grad);
  void launch_ready_buckets();
  void reset_step();

  Module& module_;
  ProcessGroup& group_;
  DdpOptions options_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  std::vector<std::pair<Tensor, int64_t>> hooks_;  // (parameter, handle)
  DdpStats stats_, totals_;
  int64_t steps_ = 0;
};

/// Every rank's tensors become rank 0's (weights at the start of training).
void broadcast_tensors(ProcessGroup& group, const NamedTensors& tensors, int root = 0);

}  // namespace minidl::dist
