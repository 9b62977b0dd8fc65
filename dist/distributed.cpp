// DistributedDataParallel: buckets, the hooks that fill them, and the step's synchronization.
#include "distributed.h"

#include <chrono>

#include "../autograd/variable.h"
#include "../core/factory.h"
#include "../core/kernels.h"

namespace minidl::dist {

void broadcast_tensors(ProcessGroup& group, const NamedTensors& tensors, int root) {
  if (group.size() == 1) return;
  std::vector<Work> works;
  for (const auto& entry : tensors) works.push_back(group.broadcast(entry.second, root));
  for (const Work& w : works) w.wait();
}

DistributedDataParallel::DistributedDataParallel(Module& module, ProcessGroup& group, DdpOptions options)
    : module_(module), group_(group), options_(options) {
  MINIDL_CHECK(options.bucket_cap_mb > 0, "DistributedDataParallel: expected bucket_cap_mb > 0, found ",
               options.bucket_cap_mb);
  broadcast_tensors(group_, module_.named_parameters());
  broadcast_tensors(group_, module_.named_buffers());

  // Reverse registration order: the last layers' gradients are ready first.
  NamedTensors params = module_.named_parameters();
  const double cap_bytes = options.bucket_cap_mb * 1024 * 1024;
  std::vector<std::vector<Tensor>> groups;
  double bytes = 0;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const Tensor& p = it->second;
    if (!p.requires_grad()) continue;
    if (!groups.empty()) {
      const Tensor& first = groups.back().front();
      MINIDL_CHECK(p.dtype() == first.dtype() && p.device() == first.device(),
                   "DistributedDataParallel: expected every parameter of one dtype and device, found ", it->first,
                   " as ", p.dtype(), " on ", p.device(), " and others as ", first.dtype(), " on ", first.device());
    }
    if (groups.empty() || bytes + static_cast<double>(p.nbytes()) > cap_bytes) {
      if (groups.empty() || !groups.back().empty()) groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(p);
    bytes += static_cast<double>(p.nbytes());
  }
  buckets_.resize(groups.size());
  for (size_t b = 0; b < groups.size(); ++b) {
    Bucket& bucket = buckets_[b];
    int64_t n = 0;
    for (const Tensor& p : groups[b]) {
      bucket.slots.push_back(Slot{p, n});
      n += p.numel();
    }
    bucket.flat = zeros({n}, groups[b].front().dtype(), groups[b].front().device());
    bucket.pending = static_cast<int64_t>(bucket.slots.size());
    for (size_t s = 0; s < bucket.slots.size(); ++s) {
      const int64_t handle = register_post_accumulate_grad_hook(
          bucket.slots[s].param, [this, b, s](const Tensor& grad) { mark_ready(b, s, grad); });
      hooks_.emplace_back(bucket.slots[s].param, handle);
    }
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  for (auto& hook : hooks_) remove_post_accumulate_grad_hook(hook.first, hook.second);
  // A step cut short by an error: the collectives queued still hold the buckets; wait for them.
  for (Bucket& bucket : buckets_) {
    try {
      bucket.work.wait();
    } catch (...) {
    }
  }
}

Tensor DistributedDataParallel::forward(const Tensor& x) {
  reset_step();
  if (options_.broadcast_buffers && module_.is_training()) broadcast_tensors(group_, module_.named_buffers());
  return module_.forward(x);
}

void DistributedDataParallel::mark_ready(size_t b, size_t s, const Tensor& grad) {
  Bucket& bucket = buckets_[b];
  Slot& slot = bucket.slots[s];
  MINIDL_CHECK(!slot.ready, "DistributedDataParallel: a second backward reached a parameter before synchronize(); "
               "call synchronize() after each backward (gradient accumulation is not supported)");
  slot.ready = true;
  Tensor view = kernels::narrow(bucket.flat, slot.offset, slot.param.numel());
  if (grad.defined())
    kernels::copy_(view, kernels::reshape(grad, view.shape()));
  else
    kernels::copy_(view, zeros(view.shape(), view.dtype(), view.device()));
  --bucket.pending;
  if (options_.overlap) launch_ready_buckets();
}

void DistributedDataParallel::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_++];
    bucket.work = group_.all_reduce(bucket.flat, ReduceOp::Mean);
  }
}

void DistributedDataParallel::synchronize() {
  const auto start = std::chrono::steady_clock::now();
  // Parameters backward did not reach this step (unused on every rank) take part with their
  // current gradient, or zeros.
  for (size_t b = 0; b < buckets_.size(); ++b)
    for (size_t s = 0; s < buckets_[b].slots.size(); ++s)
      if (!buckets_[b].slots[s].ready) mark_ready(b, s, buckets_[b].slots[s].param.grad());
  launch_ready_buckets();
  stats_ = DdpStats{};
  for (Bucket& bucket : buckets_) {
    bucket.work.wait();
    stats_.reduce_seconds += bucket.work.seconds();
    stats_.bytes += static_cast<int64_t>(bucket.flat.nbytes());
  }
  stats_.buckets = static_cast<int64_t>(buckets_.size());
  stats_.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  totals_.buckets = stats_.buckets;
  totals_.bytes = stats_.bytes;
  totals_.reduce_seconds += stats_.reduce_seconds;
  totals_.wait_seconds += stats_.wait_seconds;
  ++steps_;
  for (Bucket& bucket : buckets_) {
    for (Slot& slot : bucket.slots) {
      Tensor mean = kernels::reshape(kernels::narrow(bucket.flat, slot.offset, slot.param.numel()), slot.param.shape());
      AutogradMeta& meta = *slot.param.autograd_meta();
      if (meta.grad.defined())
        kernels::copy_(meta.grad, mean);
      else
        meta.grad = kernels::copy(mean);
    }
  }
  reset_step();
}

void DistributedDataParallel::reset_step() {
  for (Bucket& bucket : buckets_) {
    bucket.work.wait();  // returns at once for a bucket not launched
    bucket.work = Work();
    bucket.pending = static_cast<int64_t>(bucket.slots.size());
    for (Slot& slot : bucket.slots) slot.ready = false;
  }
  next_launch_ = 0;
}

}  // namespace minidl::dist
