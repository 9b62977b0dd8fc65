// The backward engine: walks the graph from a tensor back to the leaves.
//
// 1. Count, for every node reachable from the root, how many edges point at it.
// 2. Start with the root's gradient; run a node once every node that feeds it a gradient
//    has run (Kahn's algorithm on the reversed graph = reverse topological order).
// 3. A node's input gradients are summed into the node that produced that input, or, for a
//    leaf, into its .grad() — that is how a tensor used twice (x * x + x) gets both terms. The
//    sum is made in place when nothing else holds it (as PyTorch's engine does): a ResNet block's
//    input gets its gradient as a sum of two, the largest tensors of its backward.
// 4. A leaf with post-accumulate hooks has its edges counted too; its hooks run when the last
//    edge into it has been walked, so they see the leaf's final gradient of this backward.
#include <unordered_map>

#include "../core/factory.h"
#include "../core/kernels.h"
#include "variable.h"

namespace minidl {
namespace {

// Moved in and out so that a sum nobody else holds is added to in place (kernels::accumulate).
void accumulate(Tensor& sum, const Tensor& g) { sum = sum.defined() ? kernels::accumulate(std::move(sum), g) : g; }

void accumulate_leaf(AutogradMeta& leaf, Tensor g) {
  if (leaf.grad.defined()) return accumulate(leaf.grad, g);
  // .grad() must own its storage: a gradient that is shared (add's backward hands one tensor
  // to both inputs) or a view is copied; one nobody else holds is taken as it is.
  leaf.grad = g.is_unique() ? std::move(g) : kernels::copy(g);
}

void run_hooks(AutogradMeta& leaf) {
  for (const auto& hook : leaf.post_accumulate_grad_hooks) hook.second(leaf.grad);
}

/// Edges into each node reachable from root; edges into each hooked leaf go to leaf_edges.
std::unordered_map<Node*, int> count_dependencies(Node* root, std::unordered_map<AutogradMeta*, int>& leaf_edges) {
  std::unordered_map<Node*, int> deps{{root, 0}};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& meta : node->inputs) {
      if (!meta) continue;
      if (!meta->grad_fn) {
        if (!meta->post_accumulate_grad_hooks.empty()) ++leaf_edges[meta.get()];
        continue;
      }
      Node* child = meta->grad_fn.get();
      if (deps[child]++ == 0) stack.push_back(child);
    }
  }
  return deps;
}

Grads run_node(Node& node, const Tensor& grad, bool retain_graph) {
  MINIDL_CHECK(node.backward, "backward: ", node.name,
               " has already been run and its saved tensors freed; call backward(grad, /*retain_graph=*/true) "
               "the first time to go through the graph twice");
  Grads grads = node.backward(grad, node.needs);
  if (!retain_graph) node.backward = nullptr;
  MINIDL_CHECK(grads.size() == node.inputs.size(), "backward: ", node.name, " returned ", grads.size(),
               " gradients for ", node.inputs.size(), " inputs");
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!node.needs[i] || !grads[i].defined()) continue;
    MINIDL_CHECK(grads[i].shape() == node.input_shapes[i], "backward: ", node.name, " returned a gradient of shape ",
                 to_string(grads[i].shape()), " for input ", i, " of shape ", to_string(node.input_shapes[i]));
    if (is_anomaly_enabled()) check_finite(grads[i], "the gradient " + node.name + " returned for input " + std::to_string(i));
  }
  return grads;
}

}  // namespace

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  MINIDL_CHECK(requires_grad(), "backward: this tensor does not require grad (no input of the ops that made it "
               "had requires_grad_(), or it was computed under NoGradGuard)");
  Tensor root_grad = grad;
  if (!root_grad.defined()) {
    MINIDL_CHECK(numel() == 1, "backward: a gradient can be implied only for a one-element output, found shape ",
                 to_string(shape()), "; pass backward(grad)");
    root_grad = ones_like(*this);
  }
  MINIDL_CHECK(root_grad.shape() == shape() && root_grad.dtype() == dtype(), "backward: expected grad of shape ",
               to_string(shape()), " and dtype ", dtype(), ", found ", to_string(root_grad.shape()), " and ",
               root_grad.dtype());

  NoGradGuard no_grad;  // backward functions build no graph of their own
  const auto& meta = autograd_meta();
  if (!meta->grad_fn) {
    accumulate_leaf(*meta, kernels::copy(root_grad));
    run_hooks(*meta);
    return;
  }

  Node* root = meta->grad_fn.get();
  std::unordered_map<AutogradMeta*, int> leaf_edges;
  std::unordered_map<Node*, int> deps = count_dependencies(root, leaf_edges);
  std::unordered_map<Node*, Tensor> pending{{root, root_grad}};
  std::vector<Node*> ready{root};
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    auto it = pending.find(node);
    Grads grads;
    // A node that received no gradient (all paths to it were cut) still releases its inputs.
    if (it != pending.end()) {
      grads = run_node(*node, it->second, retain_graph);
      pending.erase(it);
    }
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      AutogradMeta* in = node->inputs[i].get();
      if (!in) continue;
      const bool has_grad = i < grads.size() && grads[i].defined();
      if (!in->grad_fn) {
        if (has_grad) accumulate_leaf(*in, std::move(grads[i]));
        if (!in->post_accumulate_grad_hooks.empty()) {
          auto edges = leaf_edges.find(in);
          if (edges != leaf_edges.end() && --edges->second == 0) run_hooks(*in);
        }
        continue;
      }
      Node* child = in->grad_fn.get();
      if (has_grad) accumulate(pending[child], grads[i]);
      if (--deps[child] == 0) ready.push_back(child);
    }
  }
}

}  // namespace minidl
