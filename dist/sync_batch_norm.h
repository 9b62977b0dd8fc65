// SyncBatchNorm (torch.nn.SyncBatchNorm): BatchNorm2d whose training statistics are taken over
// the whole global batch — every rank's images — instead of each rank's own slice. Its
// per-channel sums are all-reduced in forward, and, through the same differentiable all-reduce,
// the sums its backward needs. With N ranks of b images it normalizes exactly as BatchNorm2d
// on one process with N·b images; eval mode uses the running statistics, as BatchNorm2d does.
// The parameter and buffer names are BatchNorm2d's, so checkpoints load either way.
#pragma once

#include <memory>

#include "../layers/batch_norm.h"
#include "process_group.h"

namespace minidl::dist {

class SyncBatchNorm : public BatchNorm2d {
 public:
  SyncBatchNorm(int64_t num_features, ProcessGroup& group, double eps = 1e-5, double momentum = 0.1,
                bool affine = true, bool track_running_stats = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SyncBatchNorm"; }

 private:
  ProcessGroup& group_;
};

/// Replaces every BatchNorm2d of `model` by a SyncBatchNorm with its values (PyTorch's
/// SyncBatchNorm.convert_sync_batchnorm); returns how many. Call it before making the optimizer.
int convert_sync_batchnorm(Module& model, ProcessGroup& group);

}  // namespace minidl::dist
