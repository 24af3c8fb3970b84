#include "engine/autograd/node.h"

#include <atomic>
#include <limits>

#include "engine/autograd/grad_mode.h"
#include "engine/ops/elementwise.h"

namespace qatd::autograd {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};
}

Node::Node(std::string name) : name_(std::move(name)), sequence_nr_(next_sequence_nr++) {}

std::vector<Tensor> FunctionNode::apply(const Tensor& grad_output) {
  QATD_CHECK(backward_ != nullptr,
             "backward through the graph a second time: the tensors saved by {} were freed by the first backward; "
             "pass retain_graph=true to that first backward",
             name());
  return backward_(grad_output);
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad"), leaf_(std::move(leaf)) {
  // Leaves go last, after every node that can still add to them.
  set_sequence_nr(std::numeric_limits<uint64_t>::max());
  inputs.clear();
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  Tensor grad = grad_output;
  for (const GradHook& hook : leaf_->leaf_hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = replaced;
  }
  if (leaf_->grad) {
    // Sum, never assign: shared parameters, fan-out and repeated backward calls all add up.
    Tensor(leaf_->grad).add_(grad);
    return {};
  }
  // Keep the incoming buffer when nothing else can see it (the engine's reference to
  // grad_output and our copy are the only holders), as PyTorch does: it saves a copy of
  // every parameter gradient per step.
  int64_t holders = grad.is_same(grad_output) ? 2 : 1;
  bool exclusive = grad.impl().use_count() <= holders && grad.storage().use_count() == 1 && grad.offset() == 0 &&
                   grad.is_contiguous() &&
                   grad.storage()->nbytes() == static_cast<size_t>(grad.numel()) * dtype_size(grad.dtype());
  leaf_->grad = exclusive ? grad.impl() : grad.clone().impl();
  return {};
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

std::shared_ptr<Node> gradient_edge(const Tensor& tensor) {
  if (!tensor.defined()) return nullptr;
  const std::shared_ptr<TensorImpl>& impl = tensor.impl();
  if (impl->grad_fn) return impl->grad_fn;
  if (!impl->requires_grad) return nullptr;
  std::shared_ptr<Node> accumulator = impl->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(impl);
    impl->grad_accumulator = accumulator;
  }
  return accumulator;
}

std::vector<Tensor> SliceBackward::apply(const Tensor& grad_output) {
  Tensor grad = zeros(input_shape, grad_output.dtype());
  add_into(grad, grad_output);
  return {grad};
}

void SliceBackward::add_into(Tensor& buffer, const Tensor& grad_output) const {
  buffer.slice(dim, start, end, step).add_(grad_output);
}

void record(const std::string& name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward) {
  attach(std::make_shared<FunctionNode>(name, std::move(backward)), inputs, output);
}

void attach(std::shared_ptr<Node> node, const std::vector<Tensor>& inputs, Tensor& output) {
  node->inputs.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    if (input.defined()) {
      node->inputs.push_back({gradient_edge(input), input.shape(), input.dtype()});
    } else {
      node->inputs.push_back({nullptr, {}, DType::f32});
    }
  }
  output.impl()->grad_fn = std::move(node);
}

}  // namespace qatd::autograd
