// Tensor's autograd methods, grad mode, and the recording of nodes.
#include "variable.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>

#include "../core/kernels.h"

namespace minidl {
namespace {
thread_local bool grad_enabled = true;

bool anomaly_from_environment() {
  const char* v = std::getenv("MINIDL_DETECT_ANOMALY");
  return v != nullptr && std::string(v) != "0" && std::string(v) != "";
}
std::atomic<bool> anomaly_enabled{anomaly_from_environment()};
}  // namespace

bool is_grad_enabled() { return grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(grad_enabled) { grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { grad_enabled = previous_; }

bool is_anomaly_enabled() { return anomaly_enabled.load(std::memory_order_relaxed); }
void set_detect_anomaly(bool on) { anomaly_enabled = on; }
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_enabled.exchange(true)) {}
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_enabled = previous_; }

void check_finite(const Tensor& t, const std::string& what) {
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return;
  // Σ in float64: finite exactly when every element is (a float32 tensor's sum cannot overflow it).
  const double total = kernels::sum(kernels::cast(t, kFloat64), {}, false).item<double>();
  MINIDL_CHECK(std::isfinite(total), "detect_anomaly: ", what, " is not finite (shape ", to_string(t.shape()), ")");
}

Node::~Node() {
  // Detach the nodes that only this one keeps alive onto an explicit stack; each is then
  // destroyed with no inputs left, so destruction never recurses.
  std::vector<std::shared_ptr<Node>> orphans;
  auto release_inputs = [&orphans](Node& node) {
    for (auto& meta : node.inputs) {
      if (meta && meta.use_count() == 1 && meta->grad_fn && meta->grad_fn.use_count() == 1)
        orphans.push_back(std::move(meta->grad_fn));
    }
    node.inputs.clear();
  };
  release_inputs(*this);
  while (!orphans.empty()) {
    std::shared_ptr<Node> node = std::move(orphans.back());
    orphans.pop_back();
    release_inputs(*node);
  }
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!grad_enabled) return out;
  auto node = std::make_shared<Node>();
  bool any = false;
  for (const Tensor& in : inputs) {
    const bool needs = in.defined() && in.requires_grad();
    any = any || needs;
    node->inputs.push_back(needs ? in.autograd_meta() : nullptr);
    node->input_shapes.push_back(in.defined() ? in.shape() : Shape{});
    node->needs.push_back(needs);
  }
  if (!any) return out;
  if (is_anomaly_enabled()) check_finite(out, std::string(name) + "'s forward output");
  node->name = name;
  node->backward = std::move(backward);
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(node);
  out.set_autograd_meta(std::move(meta));
  return out;
}

int64_t register_post_accumulate_grad_hook(const Tensor& leaf, GradHook hook) {
  MINIDL_CHECK(leaf.defined() && leaf.requires_grad() && leaf.is_leaf(),
               "register_post_accumulate_grad_hook: expected a leaf tensor that requires grad");
  static std::atomic<int64_t> next_handle{1};
  const int64_t handle = next_handle++;
  leaf.autograd_meta()->post_accumulate_grad_hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, int64_t handle) {
  if (!leaf.defined() || !leaf.autograd_meta()) return;
  auto& hooks = leaf.autograd_meta()->post_accumulate_grad_hooks;
  hooks.erase(std::remove_if(hooks.begin(), hooks.end(), [&](const auto& h) { return h.first == handle; }),
              hooks.end());
}

void zero_grad(std::vector<Tensor>& tensors) {
  for (Tensor& t : tensors) t.zero_grad();
}

bool Tensor::requires_grad() const { return autograd_meta() && autograd_meta()->requires_grad; }

Tensor& Tensor::requires_grad_(bool requires_grad) {
  MINIDL_CHECK(is_leaf(), "requires_grad_: only leaf tensors can change requires_grad; this one comes from ",
               grad_fn_name(), " (use detach() to start a new leaf)");
  MINIDL_CHECK(!requires_grad || is_floating(dtype()),
               "requires_grad_: only float32/float64 tensors can require grad, found ", dtype());
  if (!autograd_meta()) set_autograd_meta(std::make_shared<AutogradMeta>());
  autograd_meta()->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return autograd_meta() ? autograd_meta()->grad : Tensor(); }

bool Tensor::is_leaf() const { return !autograd_meta() || !autograd_meta()->grad_fn; }

std::string Tensor::grad_fn_name() const { return is_leaf() ? "" : autograd_meta()->grad_fn->name; }

Tensor Tensor::detach() const { return Tensor(storage(), storage_offset(), shape(), dtype()); }

void Tensor::zero_grad() {
  if (autograd_meta()) autograd_meta()->grad = Tensor();
}

}  // namespace minidl
