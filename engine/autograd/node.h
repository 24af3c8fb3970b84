#pragma once
// The recorded graph. Every differentiable op that runs with grad mode on creates one Node
// for its (single) output; a Node's edges point at the Nodes of its inputs, and a leaf that
// requires grad is reached through its AccumulateGrad node.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace qatd::autograd {

class Node {
 public:
  explicit Node(std::string name);
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Given d(loss)/d(output), returns d(loss)/d(input) for each input (undefined: no gradient).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Frees what backward needed; a later apply() then throws.
  virtual void release() {}

  const std::string& name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }

  struct Input {
    std::shared_ptr<Node> node;  // null: this input needs no gradient
    Shape shape;                 // the input's shape: gradients are summed back to it
    DType dtype = DType::f32;
  };
  std::vector<Input> inputs;
  std::vector<GradHook> output_hooks;  // hooks registered on the output tensor
  // Set by Tensor::retain_grad: the output keeps its gradient (after every hook, as in PyTorch).
  std::weak_ptr<TensorImpl> retained_output;

 protected:
  void set_sequence_nr(uint64_t value) { sequence_nr_ = value; }

 private:
  std::string name_;
  uint64_t sequence_nr_;
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

// An op's backward as a closure; the closure owns the op's saved tensors.
class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFn backward) : Node(std::move(name)), backward_(std::move(backward)) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  void release() override { backward_ = nullptr; }

 private:
  BackwardFn backward_;
};

// Sums incoming gradients into a leaf's .grad. Runs after every other node that feeds it.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  std::vector<Tensor> apply(const Tensor& grad_output) override;

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// The backward of a strided slice (narrow, select, split, chunk, unbind all reduce to it).
// The engine adds the incoming gradient into that region of the input's gradient buffer, so k
// slices of one tensor cost one buffer rather than k zero-filled copies summed together.
class SliceBackward final : public Node {
 public:
  SliceBackward(Shape input_shape, int64_t dim, int64_t start, int64_t end, int64_t step)
      : Node("slice"), input_shape(std::move(input_shape)), dim(dim), start(start), end(end), step(step) {}
  // The gradient on its own: zeros with `grad_output` in the slice.
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  // buffer[slice] += grad_output, in place.
  void add_into(Tensor& buffer, const Tensor& grad_output) const;

  Shape input_shape;
  int64_t dim, start, end, step;
};

// True when grad mode is on and any of `inputs` requires grad: the op must record itself.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `node` the grad_fn of `output`, with one edge per tensor in `inputs`.
void attach(std::shared_ptr<Node> node, const std::vector<Tensor>& inputs, Tensor& output);

// Attaches a FunctionNode named `name` to `output`, with one edge per tensor in `inputs`.
// `backward` returns one gradient per input, in the same order.
void record(const std::string& name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward);

// The node that receives gradients for `tensor`: its grad_fn, or a leaf's AccumulateGrad
// (null when the tensor needs no gradient).
std::shared_ptr<Node> gradient_edge(const Tensor& tensor);

// Runs backward from `roots` seeded with `grad_roots` (see Tensor::backward).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph);

}  // namespace qatd::autograd
