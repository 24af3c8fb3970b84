#include "engine/tensor.h"

#include <cmath>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/elementwise.h"

namespace qatd {

const TensorImpl& Tensor::checked() const {
  QATD_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

void Tensor::check_dtype_for_access(DType requested) const {
  QATD_CHECK(dtype() == requested, "data access as {} on a tensor of dtype {}", requested, dtype());
}

int64_t Tensor::size(int64_t dim) const { return shape()[wrap_dim(dim, this->dim(), "size")]; }

int64_t Tensor::stride(int64_t dim) const { return strides()[wrap_dim(dim, this->dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  const TensorImpl& impl = checked();
  int64_t expected = 1;
  for (size_t i = impl.shape.size(); i-- > 0;) {
    if (impl.shape[i] == 1) continue;
    if (impl.strides[i] != expected) return false;
    expected *= impl.shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& impl = checked();
  QATD_CHECK(impl.storage->device().is_cpu(), "host access to a tensor on {}; copy it to cpu first",
             impl.storage->device().str());
  return static_cast<char*>(impl.storage->data()) + impl.offset * static_cast<int64_t>(dtype_size(impl.dtype));
}

double Tensor::item() const {
  QATD_CHECK(numel() == 1, "item: the tensor has {} elements (shape {}), not one", numel(), shape_str(shape()));
  return dispatch_all(dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      return static_cast<double>(static_cast<float>(*data<T>()));
    } else {
      return static_cast<double>(*data<T>());
    }
  });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor dense = to(dtype_of<T>).contiguous();
  const T* values = dense.data<T>();
  return std::vector<T>(values, values + dense.numel());
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

bool Tensor::requires_grad() const {
  const TensorImpl& impl = checked();
  return impl.requires_grad || impl.grad_fn != nullptr;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  TensorImpl& impl = const_cast<TensorImpl&>(checked());
  QATD_CHECK(impl.grad_fn == nullptr,
             "set_requires_grad: only leaf tensors can change requires_grad; this one is the output of {} (use "
             "detach() for a leaf)",
             impl.grad_fn->name());
  QATD_CHECK(!requires_grad || impl.dtype == DType::f32 || impl.dtype == DType::f64,
             "set_requires_grad: only f32 and f64 tensors can require grad, this one is {}", impl.dtype);
  impl.requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  const TensorImpl& impl = checked();
  return impl.grad ? Tensor(impl.grad) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  TensorImpl& impl = const_cast<TensorImpl&>(checked());
  if (grad.defined()) {
    QATD_CHECK(grad.shape() == impl.shape, "set_grad: gradient shape {} differs from the tensor's {}",
               shape_str(grad.shape()), shape_str(impl.shape));
  }
  impl.grad = grad.defined() ? grad.impl() : nullptr;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::run_backward({*this}, {grad}, retain_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl& impl = checked();
  auto detached = std::make_shared<TensorImpl>();
  detached->storage = impl.storage;
  detached->dtype = impl.dtype;
  detached->shape = impl.shape;
  detached->strides = impl.strides;
  detached->offset = impl.offset;
  return Tensor(std::move(detached));
}

void Tensor::register_hook(GradHook hook) const {
  TensorImpl& impl = const_cast<TensorImpl&>(checked());
  QATD_CHECK(requires_grad(), "register_hook: the tensor does not require grad, so no gradient will reach the hook");
  if (impl.grad_fn) {
    impl.grad_fn->output_hooks.push_back(std::move(hook));
  } else {
    impl.leaf_hooks.push_back(std::move(hook));
  }
}

void Tensor::retain_grad() const {
  QATD_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf()) return;
  checked().grad_fn->retained_output = impl_;
}

std::string Tensor::str(int64_t max_values) const {
  if (!defined()) return "Tensor(undefined)";
  std::vector<double> values = to(DType::f64).to_vector<double>();
  std::string text = fmt::format("Tensor(shape={}, dtype={}, values=[", shape_str(shape()), dtype());
  for (int64_t i = 0; i < std::min<int64_t>(max_values, static_cast<int64_t>(values.size())); ++i) {
    text += fmt::format("{}{:.6g}", i ? ", " : "", values[i]);
  }
  if (static_cast<int64_t>(values.size()) > max_values) text += ", ...";
  text += "])";
  return text;
}

}  // namespace qatd
