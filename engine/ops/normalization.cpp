#include "engine/ops/normalization.h"

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/layer_norm.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

void check_affine(std::string_view op, const Tensor& x, const Tensor& parameter, std::string_view what,
                  const Shape& expected) {
  if (!parameter.defined()) return;
  ops_detail::check_defined(op, parameter, what);
  ops_detail::check_same_dtype(op, x, parameter);
  QATD_CHECK(parameter.shape() == expected, "{}: {} must have shape {}, got {}", op, what, shape_str(expected),
             shape_str(parameter.shape()));
}

// Normalizes `x`, read as a contiguous [outer, size, inner] buffer, along its middle axis; weight
// and bias (each optional) hold `size` values. Records the fused backward.
Tensor normalize_middle_axis(const char* name, const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t outer,
                             int64_t size, int64_t inner, double eps) {
  Tensor input = x.detach().contiguous();
  Tensor dense_weight = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor dense_bias = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = empty(x.shape(), x.dtype());
  Tensor mean = empty({outer * inner}, x.dtype()), rstd = empty({outer * inner}, x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::cpu::layer_norm_forward<T>(input.data<T>(), weight.defined() ? dense_weight.data<T>() : nullptr,
                                        bias.defined() ? dense_bias.data<T>() : nullptr, outer, size, inner, eps,
                                        out.data<T>(), mean.data<T>(), rstd.data<T>());
  });
  if (!needs_grad({x, weight, bias})) return out;
  bool grad_x = x.requires_grad();
  bool grad_weight = weight.defined() && weight.requires_grad();
  bool grad_bias = bias.defined() && bias.requires_grad();
  SavedTensor saved_input(input), saved_mean(mean), saved_rstd(rstd);
  SavedTensor saved_weight(grad_x ? dense_weight : Tensor());
  Shape parameter_shape = weight.defined() ? weight.shape() : (bias.defined() ? bias.shape() : Shape{});
  record(name, {x, weight, bias}, out, [=](const Tensor& g) {
    Tensor upstream = g.contiguous(), saved_x = saved_input.get();
    Tensor saved_w = saved_weight.defined() ? saved_weight.get() : Tensor();
    Tensor dx = grad_x ? empty(saved_x.shape(), saved_x.dtype()) : Tensor();
    Tensor dweight = grad_weight ? empty(parameter_shape, saved_x.dtype()) : Tensor();
    Tensor dbias = grad_bias ? empty(parameter_shape, saved_x.dtype()) : Tensor();
    dispatch_floating(saved_x.dtype(), name, [&]<typename T>() {
      auto pointer = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      kernels::cpu::layer_norm_backward<T>(upstream.data<T>(), saved_x.data<T>(), saved_mean.get().data<T>(),
                                           saved_rstd.get().data<T>(), pointer(saved_w), outer, size, inner,
                                           pointer(dx), pointer(dweight), pointer(dbias));
    });
    return std::vector<Tensor>{dx, dweight, dbias};
  });
  return out;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  ops_detail::check_defined("layer_norm", x, "input");
  ops_detail::check_floating("layer_norm", x);
  int64_t dims = static_cast<int64_t>(normalized_shape.size());
  QATD_CHECK(dims >= 1, "layer_norm: normalized_shape must have at least one dim, got {}", shape_str(normalized_shape));
  QATD_CHECK(x.dim() >= dims && Shape(x.shape().end() - dims, x.shape().end()) == normalized_shape,
             "layer_norm: input of shape {} does not end in normalized_shape {}", shape_str(x.shape()),
             shape_str(normalized_shape));
  check_affine("layer_norm", x, weight, "weight", normalized_shape);
  check_affine("layer_norm", x, bias, "bias", normalized_shape);
  int64_t size = numel_of(normalized_shape);
  int64_t outer = size == 0 ? 0 : x.numel() / size;
  return normalize_middle_axis("layer_norm", x, weight, bias, outer, size, 1, eps);
}

Tensor layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  ops_detail::check_defined("layer_norm2d", x, "input");
  ops_detail::check_floating("layer_norm2d", x);
  ops_detail::check_rank("layer_norm2d", x, 4, "input", "(N, C, H, W)");
  Shape channels{x.shape()[1]};
  check_affine("layer_norm2d", x, weight, "weight", channels);
  check_affine("layer_norm2d", x, bias, "bias", channels);
  return normalize_middle_axis("layer_norm2d", x, weight, bias, x.shape()[0], x.shape()[1], x.shape()[2] * x.shape()[3],
                               eps);
}

}  // namespace qatd
