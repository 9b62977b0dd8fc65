// The dispatcher of log_softmax and cross-entropy.
#include "softmax.h"

#include <cmath>

#include "../factory.h"
#include "checks.h"

namespace minidl::kernels {

Tensor log_softmax_forward(const Tensor& x) {
  checks::floating(x, "log_softmax");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() > 0) log_softmax_forward_kernel.at(x.device())(x, y);
  return y;
}

Tensor log_softmax_backward(const Tensor& dy, const Tensor& y) {
  checks::floating_like(y, {&dy}, "log_softmax_backward");
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (dx.numel() > 0) log_softmax_backward_kernel.at(y.device())(dy, y, dx);
  return dx;
}

CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing) {
  checks::floating(logits, "cross_entropy");
  checks::like(logits, {&labels}, "cross_entropy", /*same_dtype=*/false);
  // The mean over no samples is NaN, as in PyTorch.
  if (logits.numel() == 0) return {full({}, NAN, logits.dtype(), logits.device()), logits};
  CrossEntropyForward out{Tensor::empty({}, logits.dtype(), logits.device()),
                          Tensor::empty(logits.shape(), logits.dtype(), logits.device())};
  cross_entropy_forward_kernel.at(logits.device())(logits, labels, label_smoothing, out);
  return out;
}

Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels,
                              double label_smoothing) {
  checks::floating_like(log_probs, {&dloss}, "cross_entropy_backward");
  checks::like(log_probs, {&labels}, "cross_entropy_backward", /*same_dtype=*/false);
  Tensor dlogits = Tensor::empty(log_probs.shape(), log_probs.dtype(), log_probs.device());
  if (dlogits.numel() > 0)
    cross_entropy_backward_kernel.at(log_probs.device())(dloss, log_probs, labels, label_smoothing, dlogits);
  return dlogits;
}

}  // namespace minidl::kernels
