// In-place writes on Tensor. They are never recorded: a tensor that requires grad may be
// written only under NoGradGuard (optimizer steps, initialization), as in PyTorch.
#include "engine/autograd/grad_mode.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "kernels/cpu/binary.h"

namespace qatd {

namespace {

void check_writable(const Tensor& tensor, std::string_view op) {
  ops_detail::check_defined(op, tensor, "destination");
  QATD_CHECK(!(GradMode::is_enabled() && tensor.requires_grad()),
             "{}: in-place write to a tensor that requires grad; wrap it in NoGradGuard or use the out-of-place op",
             op);
  for (int64_t i = 0; i < tensor.dim(); ++i) {
    QATD_CHECK(tensor.shape()[i] <= 1 || tensor.strides()[i] != 0,
               "{}: the destination is an expanded view (shape {}, strides {}) whose elements share memory; call "
               "contiguous() or clone() first",
               op, shape_str(tensor.shape()), shape_str(tensor.strides()));
  }
}

}  // namespace

Tensor& Tensor::fill_(double value) {
  check_writable(*this, "fill_");
  return copy_(scalar_tensor(value, dtype()));
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_writable(*this, "add_");
  ops_detail::check_defined("add_", other, "other");
  ops_detail::check_same_dtype("add_", *this, other);
  QATD_CHECK(is_broadcastable_to(other.shape(), shape()), "add_: other of shape {} does not broadcast to {}",
             shape_str(other.shape()), shape_str(shape()));
  Tensor addend;
  {
    NoGradGuard no_grad;
    addend = alpha == 1.0 ? other.detach() : mul(other.detach(), alpha);
  }
  // Reading the destination while writing it is safe elementwise, unless the addend views
  // the same memory in another layout.
  if (addend.storage() == storage()) addend = addend.clone();
  Shape addend_strides = ops_detail::broadcast_strides(addend, shape());
  dispatch_numeric(dtype(), "add_", [&]<typename T>() {
    kernels::cpu::binary<T>(kernels::cpu::BinaryOp::add, shape(), data<T>(), strides(), data<T>(), strides(),
                            addend.data<T>(), addend_strides);
  });
  bump_version();
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  check_writable(*this, "mul_");
  Tensor product;
  {
    NoGradGuard no_grad;
    product = mul(*this, factor);
  }
  return copy_(product);
}

Tensor& Tensor::clamp_(double min, double max) {
  check_writable(*this, "clamp_");
  Tensor clamped;
  {
    NoGradGuard no_grad;
    clamped = clamp(*this, min, max);
  }
  return copy_(clamped);
}

}  // namespace qatd
