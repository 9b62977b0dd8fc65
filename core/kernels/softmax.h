// log_softmax along the last dim, and cross-entropy with label smoothing.
#pragma once

#include "table.h"
#include "types.h"

namespace minidl::kernels {

/// log_softmax along the last dim of x[M, K].
Tensor log_softmax_forward(const Tensor& x);
/// dx = dy − exp(y) · Σ dy, with y the forward's output.
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y);
/// Mean over samples of −Σ_k t[n, k] · log p[n, k], with t = (1 − ε)·onehot(label) + ε/K;
/// labels int64 [N] on the logits' device, already checked to lie in [0, K).
CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double label_smoothing);

// ---- kernels: outputs allocated, inputs not empty ----
inline KernelTable<void(const Tensor& x, Tensor& y)> log_softmax_forward_kernel{"log_softmax"};
inline KernelTable<void(const Tensor& dy, const Tensor& y, Tensor& dx)>
    log_softmax_backward_kernel{"log_softmax_backward"};
inline KernelTable<void(const Tensor& logits, const Tensor& labels, double label_smoothing, CrossEntropyForward& out)>
    cross_entropy_forward_kernel{"cross_entropy"};
inline KernelTable<void(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels, double label_smoothing,
                        Tensor& dlogits)>
    cross_entropy_backward_kernel{"cross_entropy_backward"};

}  // namespace minidl::kernels
