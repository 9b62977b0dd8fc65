// The autograd state of a tensor and the graph node that produced it.
//
// Define-by-run: every differentiable op whose input requires grad records a Node on its
// output. A Node holds what its backward needs (saved tensors, captured in `backward`) and
// edges to its inputs' AutogradMeta, so the graph is walked from the loss back to the leaves.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace minidl {

struct Node;

/// Called on a leaf once per backward(), after the last gradient that backward sends to it has
/// been added to its .grad() (undefined if none reached it): data-parallel training starts a
/// bucket's all-reduce from here while backward goes on (dist/distributed.h).
using GradHook = std::function<void(const Tensor& grad)>;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // accumulated by backward() on leaves
  std::shared_ptr<Node> grad_fn;  // the op that produced this tensor; null on leaves
  std::vector<std::pair<int64_t, GradHook>> post_accumulate_grad_hooks;  // (handle, hook), leaves only
};

/// Gradients of the loss with respect to an op's inputs, one per input (undefined = none).
using Grads = std::vector<Tensor>;
/// needs[i] is false when input i needs no gradient, so the backward may skip computing it.
using Needs = std::vector<bool>;
/// Given dL/d(output), returns dL/d(input i) for each input.
using BackwardFn = std::function<Grads(const Tensor& grad_output, const Needs& needs)>;

struct Node {
  std::string name;                                   // "MulBackward"
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where the input needs no grad
  std::vector<Shape> input_shapes;                    // to check what backward returns
  Needs needs;
  BackwardFn backward;  // cleared after it ran, which frees the saved tensors

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Frees the graph above this node iteratively: a chain of 100k ops must not recurse 100k deep.
  ~Node();
};

/// Attaches a node to `out` when grad mode is on and some input requires grad; returns out.
/// Ops call it right after their forward kernel:
///   return record("ExpBackward", out, {x}, [y = out.detach()](const Tensor& g, const Needs&) {...});
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);

/// Is gradient recording on in this thread (it is by default)?
bool is_grad_enabled();

/// Turns gradient recording off in this thread while in scope (inference, optimizer steps).
///   { NoGradGuard no_grad; auto y = model(x); }
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Turns gradient recording on in this thread while in scope, inside a NoGradGuard too
/// (torch.enable_grad): for a fit that a caller may run under no_grad.
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

/// Anomaly detection (PyTorch's torch.autograd.detect_anomaly): while it is on, every recorded
/// op's output and every gradient a backward returns is checked, and the first that is not
/// finite raises a minidl::Error naming the op ("detect_anomaly: LogBackward's forward output is
/// not finite"). It costs a reduction per tensor: for finding where a NaN starts, not for speed.
/// On in every thread while a DetectAnomalyGuard lives, or for the whole run with the
/// environment variable MINIDL_DETECT_ANOMALY=1.
bool is_anomaly_enabled();
void set_detect_anomaly(bool on);
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};
/// The check itself: an Error "detect_anomaly: <what> is not finite" unless every element of t is.
void check_finite(const Tensor& t, const std::string& what);

/// PyTorch's Tensor.register_post_accumulate_grad_hook: `hook(grad)` runs on the leaf `leaf`
/// (which must require grad) at the end of each backward() that reaches it, once, however many
/// ops used it. Returns a handle for remove_post_accumulate_grad_hook.
int64_t register_post_accumulate_grad_hook(const Tensor& leaf, GradHook hook);
void remove_post_accumulate_grad_hook(const Tensor& leaf, int64_t handle);

/// Drops the gradients of all `tensors` (grad() becomes undefined).
void zero_grad(std::vector<Tensor>& tensors);

}  // namespace minidl
