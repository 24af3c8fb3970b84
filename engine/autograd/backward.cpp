// The backward pass: dependency counting over the recorded graph, then nodes in reverse
// creation order from a ready queue. Iterative throughout, so graphs of any depth work.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace qatd::autograd {

namespace {

struct LaterFirst {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Brings an incoming gradient to the shape and dtype of the input it belongs to.
Tensor conform(const Tensor& grad, const Node::Input& input, const Node& producer) {
  Tensor result = grad;
  if (result.shape() != input.shape) {
    QATD_CHECK(is_broadcastable_to(input.shape, result.shape()),
               "backward of {}: gradient of shape {} cannot be reduced to the input shape {}", producer.name(),
               shape_str(result.shape()), shape_str(input.shape));
    result = sum_to(result, input.shape);
  }
  if (result.dtype() != input.dtype) result = result.to(input.dtype);
  return result;
}

}  // namespace

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph) {
  NoGradGuard no_grad;

  std::unordered_map<Node*, Tensor> pending;  // gradient summed so far for each node's output
  // Pending gradients the engine allocated itself, which it may therefore update in place.
  std::unordered_set<TensorImpl*> owned;
  auto accumulate = [&](Node* target, const Tensor& incoming) {
    Tensor& slot = pending[target];
    if (!slot.defined()) {
      slot = incoming;
    } else if (owned.count(slot.impl().get())) {
      slot.add_(incoming);
    } else {
      slot = slot + incoming;
      owned.insert(slot.impl().get());
    }
  };
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    QATD_CHECK(root.requires_grad(),
               "backward: the tensor of shape {} does not require grad and has no history (was it computed under "
               "NoGradGuard, or from tensors that do not require grad?)",
               shape_str(root.shape()));
    Tensor seed = grad_roots[i];
    if (!seed.defined()) {
      QATD_CHECK(root.numel() == 1,
                 "backward: a gradient can be implied only for a one-element output, this one has shape {}; pass "
                 "the upstream gradient explicitly",
                 shape_str(root.shape()));
      seed = ones_like(root);
    }
    QATD_CHECK(seed.shape() == root.shape(), "backward: upstream gradient has shape {}, the output has shape {}",
               shape_str(seed.shape()), shape_str(root.shape()));
    std::shared_ptr<Node> node = gradient_edge(root);
    Tensor& slot = pending[node.get()];
    slot = slot.defined() ? slot + seed : seed;
    root_nodes.push_back(std::move(node));
  }

  // Count, for every node reachable from the roots, how many edges lead into it.
  std::unordered_map<Node*, int64_t> dependencies;
  std::vector<Node*> stack;
  for (const auto& node : root_nodes) {
    if (dependencies.emplace(node.get(), 0).second) stack.push_back(node.get());
  }
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Node::Input& input : node->inputs) {
      if (!input.node) continue;
      auto [it, inserted] = dependencies.emplace(input.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(input.node.get());
    }
  }

  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (const auto& [node, count] : dependencies) {
    if (count == 0) ready.push(node);
  }

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    auto found = pending.find(node);
    Tensor grad = found == pending.end() ? Tensor() : found->second;
    if (found != pending.end()) {
      owned.erase(grad.impl().get());
      pending.erase(found);
    }

    std::vector<Tensor> input_grads;
    if (grad.defined()) {
      for (const GradHook& hook : node->output_hooks) {
        Tensor replaced = hook(grad);
        if (replaced.defined()) grad = replaced;
      }
      if (auto retained = node->retained_output.lock()) {
        if (retained->grad) {
          Tensor(retained->grad).add_(grad);
        } else {
          retained->grad = grad.clone().impl();
        }
      }
      auto* slice = dynamic_cast<SliceBackward*>(node);
      if (slice && slice->inputs[0].node) {
        // Add into the input's buffer, allocating it (or a private copy of it) first.
        Tensor& slot = pending[slice->inputs[0].node.get()];
        if (!slot.defined()) {
          slot = zeros(slice->input_shape, slice->inputs[0].dtype);
        } else if (!owned.count(slot.impl().get())) {
          slot = slot.clone();
        }
        owned.insert(slot.impl().get());
        slice->add_into(slot, grad.to(slot.dtype()));
      } else {
        try {
          input_grads = node->apply(grad);
        } catch (const Error& error) {
          fail("in backward of {}: {}", node->name(), error.what());
        }
        QATD_CHECK(input_grads.empty() || input_grads.size() == node->inputs.size(),
                   "backward of {} returned {} gradients for {} inputs", node->name(), input_grads.size(),
                   node->inputs.size());
      }
    }
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Node::Input& input = node->inputs[i];
      if (!input.node) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        accumulate(input.node.get(), conform(input_grads[i], input, *node));
      }
      if (--dependencies[input.node.get()] == 0) ready.push(input.node.get());
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace qatd::autograd
