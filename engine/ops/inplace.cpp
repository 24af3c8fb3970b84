// In-place writes on Tensor. They are never recorded: a tensor that requires grad may be
// written only under NoGradGuard (optimizer steps, initialization), as in PyTorch.
#include "engine/autograd/grad_mode.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

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
  Tensor sum;
  {
    NoGradGuard no_grad;
    sum = alpha == 1.0 ? add(*this, other) : add(*this, mul(other, alpha));
  }
  QATD_CHECK(sum.shape() == shape(), "add_: other of shape {} would change the destination's shape {}",
             shape_str(other.shape()), shape_str(shape()));
  return copy_(sum);
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
