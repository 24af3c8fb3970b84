// Copies between layouts and dtypes: to(dtype), contiguous(), clone(), copy_().
#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/loops.h"

namespace qatd {

namespace {

template <typename To, typename From>
To convert(From value) {
  if constexpr (std::is_same_v<To, From>) {
    return value;
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<float>(value) != 0.0f;
  } else if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>) {
    return static_cast<To>(static_cast<float>(value));
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    return To(static_cast<float>(value));
  } else {
    return static_cast<To>(value);
  }
}

// destination[...] = source[...] converted, with `source` broadcast to destination's shape.
void copy_into(const Tensor& destination, const Tensor& source) {
  Shape source_strides = ops_detail::broadcast_strides(source, destination.shape());
  dispatch_all(destination.dtype(), [&]<typename To>() {
    dispatch_all(source.dtype(), [&]<typename From>() {
      kernels::cpu::map_unary(destination.shape(), destination.data<To>(), destination.strides(), source.data<From>(),
                              source_strides, [](From value) { return convert<To, From>(value); });
    });
  });
}

Tensor copy_as(const Tensor& source, DType dtype) {
  Tensor out = empty(source.shape(), dtype, source.device());
  copy_into(out, source);
  return out;
}

}  // namespace

Tensor Tensor::to(DType target) const {
  ops_detail::check_defined("to", *this, "input");
  if (dtype() == target) return *this;
  Tensor out = copy_as(*this, target);
  if (autograd::needs_grad({*this}) && is_floating(target) && target != DType::f16 && target != DType::bf16) {
    DType source_dtype = dtype();
    autograd::record("to", {*this}, out,
                     [source_dtype](const Tensor& g) { return std::vector<Tensor>{g.to(source_dtype)}; });
  }
  return out;
}

Tensor Tensor::contiguous() const {
  ops_detail::check_defined("contiguous", *this, "input");
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  ops_detail::check_defined("clone", *this, "input");
  Tensor out = copy_as(*this, dtype());
  if (autograd::needs_grad({*this})) {
    autograd::record("clone", {*this}, out, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

Tensor& Tensor::copy_(const Tensor& source) {
  ops_detail::check_defined("copy_", source, "source");
  QATD_CHECK(is_broadcastable_to(source.shape(), shape()), "copy_: source of shape {} does not broadcast to {}",
             shape_str(source.shape()), shape_str(shape()));
  QATD_CHECK(!(GradMode::is_enabled() && requires_grad()),
             "copy_: in-place write to a tensor that requires grad; do it under NoGradGuard");
  // Copy through a temporary when the source reads memory the destination writes.
  Tensor safe_source = source.storage() == storage() ? source.clone() : source;
  copy_into(*this, safe_source.detach());
  bump_version();
  return *this;
}

}  // namespace qatd
