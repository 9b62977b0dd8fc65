// log_softmax and cross_entropy (fused: log-softmax, smoothed target and mean in one kernel).
#include "../../core/kernels.h"
#include "../functional.h"
#include "checks.h"

namespace minidl {

Tensor log_softmax(const Tensor& x, int64_t dim) {
  checks::floating(x, "log_softmax");
  MINIDL_CHECK(x.dim() >= 1, "log_softmax: expected a tensor of rank >= 1, found a scalar");
  MINIDL_CHECK(wrap_dim(dim, x.dim(), "log_softmax") == x.dim() - 1, "log_softmax: only the last dim is supported, found dim ",
               dim, " of a rank-", x.dim(), " tensor");
  Tensor y = kernels::log_softmax_forward(x);
  return record("LogSoftmaxBackward", y, {x},
                [y = y.detach()](const Tensor& g, const Needs&) -> Grads { return {kernels::log_softmax_backward(g, y)}; });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing) {
  checks::input(logits, "cross_entropy", 2, "[N, classes]");
  MINIDL_CHECK(labels.defined() && (labels.dtype() == kInt64 || labels.dtype() == kInt32),
               "cross_entropy: expected int64 (or int32) labels, found ",
               labels.defined() ? to_string(labels.dtype()) : "undefined");
  MINIDL_CHECK(labels.shape() == Shape{logits.size(0)}, "cross_entropy: expected labels of shape [", logits.size(0),
               "] for logits ", to_string(logits.shape()), ", found ", to_string(labels.shape()));
  MINIDL_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
               "cross_entropy: expected label_smoothing in [0, 1], found ", label_smoothing);
  MINIDL_CHECK(labels.device() == logits.device(), "cross_entropy: the labels are on ", labels.device(),
               ", the logits on ", logits.device());
  const Tensor lab = labels.dtype() == kInt64 ? labels : kernels::cast(labels, kInt64);
  const int64_t classes = logits.size(1);
  // Checked on the host: a copy of N labels from a GPU (one small wait per step).
  const Tensor host_labels = lab.device_copy(Device::cpu());
  const int64_t* l = host_labels.data<int64_t>();
  for (int64_t i = 0; i < lab.numel(); ++i)
    MINIDL_CHECK(l[i] >= 0 && l[i] < classes, "cross_entropy: label ", l[i], " of sample ", i,
                 " is out of range for ", classes, " classes (expected 0 <= label < ", classes, ")");

  kernels::CrossEntropyForward f = kernels::cross_entropy_forward(logits, lab, label_smoothing);
  return record("CrossEntropyBackward", f.loss, {logits},
                [log_probs = f.log_probs, lab, label_smoothing](const Tensor& g, const Needs&) -> Grads {
                  return {kernels::cross_entropy_backward(g, log_probs, lab, label_smoothing)};
                });
}

}  // namespace minidl
