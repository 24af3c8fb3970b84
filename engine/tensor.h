#pragma once
// Tensor: a reference-counted handle to a strided view of a Storage, plus its autograd state.
// Copies of a Tensor are shallow (they share the same TensorImpl), as in PyTorch.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace qatd {

class Tensor;
namespace autograd {
class Node;
}

// A gradient hook sees the gradient flowing into a tensor during backward and may return a
// replacement (an undefined Tensor keeps it unchanged).
using GradHook = std::function<Tensor(const Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::f32;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements, from storage->data()

  // Autograd state. A leaf has no grad_fn; it collects .grad when requires_grad is set.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;  // a leaf's AccumulateGrad, shared by every graph using it
  std::vector<GradHook> leaf_hooks;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // Metadata.
  DType dtype() const { return checked().dtype; }
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  int64_t dim() const { return static_cast<int64_t>(checked().shape.size()); }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t offset() const { return checked().offset; }
  int64_t numel() const { return numel_of(checked().shape); }
  Device device() const { return checked().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return checked().storage; }

  // Raw access. data<T>() checks that T matches the dtype. Writing through it into an
  // existing tensor is an in-place write: call bump_version() afterwards.
  void* raw_data() const;
  template <typename T>
  T* data() const {
    check_dtype_for_access(dtype_of<T>);
    return static_cast<T*>(raw_data());
  }
  double item() const;  // the single value of a one-element tensor, as double
  template <typename T>
  std::vector<T> to_vector() const;  // all values in row-major order, converted to T

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires_grad);
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked().grad_fn; }
  // Backpropagates from this tensor. `grad` defaults to 1 for a one-element tensor.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // Shares storage and the version counter, but has no history: backward stops here.
  Tensor detach() const;
  void register_hook(GradHook hook) const;
  // Keeps .grad for a non-leaf tensor too (accumulated like a leaf's).
  void retain_grad() const;
  uint64_t version() const { return storage()->version(); }
  void bump_version() const { storage()->bump_version(); }

  // Conversions (differentiable for floating dtypes).
  Tensor to(DType dtype) const;
  Tensor contiguous() const;
  Tensor clone() const;

  // Views: share storage, never copy (reshape copies only when no view is possible).
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, const Shape& sizes) const;

  // Reductions and arithmetic sugar (see engine/ops for the full op set).
  Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;

  // In-place writes. They bump the version counter and are never recorded by autograd:
  // on a tensor that requires grad they are allowed only under NoGradGuard.
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& copy_(const Tensor& source);  // broadcasts and converts dtype
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double factor);
  Tensor& clamp_(double min, double max);

  std::string str(int64_t max_values = 32) const;

 private:
  const TensorImpl& checked() const;
  void check_dtype_for_access(DType requested) const;

  std::shared_ptr<TensorImpl> impl_;
};

// Tensor creation.
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
Tensor scalar_tensor(double value, DType dtype = DType::f32);
Tensor arange(int64_t end, DType dtype = DType::i64);
Tensor arange(double start, double end, double step, DType dtype = DType::f32);
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32);
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
template <typename T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}
// A tensor over `storage` with the given geometry (no copy).
Tensor make_view(const std::shared_ptr<Storage>& storage, DType dtype, const Shape& shape, const Shape& strides,
                 int64_t offset);

}  // namespace qatd
