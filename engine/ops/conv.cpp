#include "engine/ops/conv.h"

#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/conv.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using kernels::cpu::ConvShape;

namespace {

template <typename T>
const T* data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data<T>() : nullptr;
}

// The options both convolutions share, with the input already batched. `given` is the input as the
// caller passed it, for messages.
struct ConvArguments {
  const char* op;
  const Tensor& given;
  const Tensor& x;
  const Tensor& weight;
  const Tensor& bias;
  std::array<int64_t, 2> stride, padding, dilation;
  int64_t groups;
};

// Checks everything but how the channel counts of input and weight relate.
void check_arguments(const ConvArguments& a) {
  ops_detail::check_defined(a.op, a.weight, "weight");
  ops_detail::check_same_dtype(a.op, a.x, a.weight);
  ops_detail::check_floating(a.op, a.x);
  QATD_CHECK(a.weight.dim() == 4, "{}: weight must be 4-D, got shape {}", a.op, shape_str(a.weight.shape()));
  QATD_CHECK(a.x.size(1) > 0 && a.x.size(2) > 0 && a.x.size(3) > 0,
             "{}: input of shape {} has an empty channel or spatial dimension", a.op, shape_str(a.given.shape()));
  QATD_CHECK(a.weight.numel() > 0, "{}: weight of shape {} is empty", a.op, shape_str(a.weight.shape()));
  QATD_CHECK(a.groups >= 1, "{}: groups must be positive, got {}", a.op, a.groups);
  for (int d = 0; d < 2; ++d) {
    QATD_CHECK(a.stride[d] >= 1, "{}: stride must be positive, got ({}, {})", a.op, a.stride[0], a.stride[1]);
    QATD_CHECK(a.padding[d] >= 0, "{}: padding must be non-negative, got ({}, {})", a.op, a.padding[0], a.padding[1]);
    QATD_CHECK(a.dilation[d] >= 1, "{}: dilation must be positive, got ({}, {})", a.op, a.dilation[0], a.dilation[1]);
  }
  QATD_CHECK(a.weight.size(0) % a.groups == 0,
             "{}: weight of shape {} has a first dimension not divisible by groups = {}", a.op,
             shape_str(a.weight.shape()), a.groups);
  if (a.bias.defined()) {
    ops_detail::check_defined(a.op, a.bias, "bias");
    ops_detail::check_same_dtype(a.op, a.x, a.bias);
  }
}

void check_bias(const ConvArguments& a, int64_t out_channels) {
  if (!a.bias.defined()) return;
  QATD_CHECK(a.bias.dim() == 1 && a.bias.size(0) == out_channels, "{}: bias must have shape ({}), got {}", a.op,
             out_channels, shape_str(a.bias.shape()));
}

// Batched (N, C, H, W) view of x, after checking its rank.
Tensor as_batched(const char* op, const Tensor& x) {
  ops_detail::check_defined(op, x, "input");
  QATD_CHECK(x.dim() == 3 || x.dim() == 4, "{}: input must be (N, C, H, W) or unbatched (C, H, W), got shape {}", op,
             shape_str(x.shape()));
  return x.dim() == 3 ? x.unsqueeze(0) : x;
}

Tensor forward_kernel(const ConvShape& shape, const Tensor& input, const Tensor& weight, const Tensor& bias) {
  Tensor out = empty({shape.batch, shape.out_channels, shape.out_height, shape.out_width}, input.dtype());
  dispatch_floating(input.dtype(), "conv2d", [&]<typename T>() {
    kernels::cpu::conv2d_forward<T>(shape, input.data<T>(), weight.data<T>(), data_or_null<T>(bias), out.data<T>());
  });
  return out;
}

Tensor backward_input_kernel(const ConvShape& shape, const Tensor& grad_output, const Tensor& weight) {
  Tensor grad_input = empty({shape.batch, shape.in_channels, shape.in_height, shape.in_width}, grad_output.dtype());
  dispatch_floating(grad_output.dtype(), "conv2d", [&]<typename T>() {
    kernels::cpu::conv2d_backward_input<T>(shape, grad_output.data<T>(), weight.data<T>(), grad_input.data<T>());
  });
  return grad_input;
}

Tensor backward_weight_kernel(const ConvShape& shape, const Tensor& input, const Tensor& grad_output) {
  Tensor grad_weight = empty(
      {shape.out_channels, shape.in_channels / shape.groups, shape.kernel_height, shape.kernel_width}, input.dtype());
  dispatch_floating(input.dtype(), "conv2d", [&]<typename T>() {
    kernels::cpu::conv2d_backward_weight<T>(shape, input.data<T>(), grad_output.data<T>(), grad_weight.data<T>());
  });
  return grad_weight;
}

// The bias gradient: grad (N, C, H, W) summed over everything but C.
Tensor channel_sums_kernel(const Tensor& grad) {
  Tensor sums = empty({grad.size(1)}, grad.dtype());
  dispatch_floating(grad.dtype(), "conv2d", [&]<typename T>() {
    kernels::cpu::channel_sums<T>(grad.data<T>(), grad.size(0), grad.size(1), grad.size(2) * grad.size(3),
                                  sums.data<T>());
  });
  return sums;
}

ConvShape kernel_geometry(const ConvArguments& a) {
  ConvShape shape;
  shape.groups = a.groups;
  shape.kernel_height = a.weight.size(2);
  shape.kernel_width = a.weight.size(3);
  shape.stride_height = a.stride[0];
  shape.stride_width = a.stride[1];
  shape.pad_height = a.padding[0];
  shape.pad_width = a.padding[1];
  shape.dilation_height = a.dilation[0];
  shape.dilation_width = a.dilation[1];
  return shape;
}

Tensor conv2d_batched(const ConvArguments& a) {
  check_arguments(a);
  const int64_t in_channels = a.x.size(1), out_channels = a.weight.size(0);
  QATD_CHECK(in_channels == a.weight.size(1) * a.groups,
             "conv2d: weight of shape {} with groups = {} expects {} input channels, but the input of shape {} has {}",
             shape_str(a.weight.shape()), a.groups, a.weight.size(1) * a.groups, shape_str(a.given.shape()),
             in_channels);
  check_bias(a, out_channels);

  ConvShape shape = kernel_geometry(a);
  shape.batch = a.x.size(0);
  shape.in_channels = in_channels;
  shape.in_height = a.x.size(2);
  shape.in_width = a.x.size(3);
  shape.out_channels = out_channels;
  std::array<int64_t, 2> out_size;
  for (int d = 0; d < 2; ++d) {
    const int64_t padded = a.x.size(2 + d) + 2 * a.padding[d];
    const int64_t extent = a.dilation[d] * (a.weight.size(2 + d) - 1) + 1;
    QATD_CHECK(padded >= extent,
               "conv2d: the padded input ({}, {}) of input {} is smaller than the dilated kernel ({}, {})",
               a.x.size(2) + 2 * a.padding[0], a.x.size(3) + 2 * a.padding[1], shape_str(a.given.shape()),
               a.dilation[0] * (a.weight.size(2) - 1) + 1, a.dilation[1] * (a.weight.size(3) - 1) + 1);
    out_size[d] = (padded - extent) / a.stride[d] + 1;
  }
  shape.out_height = out_size[0];
  shape.out_width = out_size[1];

  Tensor input = a.x.contiguous(), weight = a.weight.contiguous();
  Tensor bias = a.bias.defined() ? a.bias.contiguous() : Tensor();
  Tensor out = forward_kernel(shape, input, weight, bias);
  if (needs_grad({a.x, a.weight, a.bias})) {
    SavedTensor saved_input(a.weight.requires_grad() ? input : Tensor());
    SavedTensor saved_weight(a.x.requires_grad() ? weight : Tensor());
    const bool bias_grad = a.bias.defined() && a.bias.requires_grad();
    record("conv2d", {a.x, a.weight, a.bias}, out, [shape, saved_input, saved_weight, bias_grad](const Tensor& g) {
      Tensor grad = g.contiguous();
      Tensor grad_x, grad_weight, grad_bias;
      if (saved_weight.defined()) grad_x = backward_input_kernel(shape, grad, saved_weight.get());
      if (saved_input.defined()) grad_weight = backward_weight_kernel(shape, saved_input.get(), grad);
      if (bias_grad) grad_bias = channel_sums_kernel(grad);
      return std::vector<Tensor>{grad_x, grad_weight, grad_bias};
    });
  }
  return out;
}

// A transposed convolution is the input-gradient pass of the convolution that maps its output
// back to its input: `shape` describes that convolution.
Tensor conv_transpose2d_batched(const ConvArguments& a, const std::array<int64_t, 2>& output_padding) {
  check_arguments(a);
  const int64_t in_channels = a.x.size(1);
  const int64_t out_channels = a.weight.size(1) * a.groups;
  QATD_CHECK(in_channels == a.weight.size(0),
             "conv_transpose2d: weight of shape {} expects {} input channels, but the input of shape {} has {}",
             shape_str(a.weight.shape()), a.weight.size(0), shape_str(a.given.shape()), in_channels);
  check_bias(a, out_channels);
  for (int d = 0; d < 2; ++d) {
    QATD_CHECK(output_padding[d] >= 0 && (output_padding[d] < a.stride[d] || output_padding[d] < a.dilation[d]),
               "conv_transpose2d: output_padding ({}, {}) must be non-negative and smaller than either stride ({}, {}) "
               "or dilation ({}, {})",
               output_padding[0], output_padding[1], a.stride[0], a.stride[1], a.dilation[0], a.dilation[1]);
  }
  std::array<int64_t, 2> out_size;
  for (int d = 0; d < 2; ++d) {
    out_size[d] = (a.x.size(2 + d) - 1) * a.stride[d] - 2 * a.padding[d] + a.dilation[d] * (a.weight.size(2 + d) - 1) +
                  output_padding[d] + 1;
  }
  QATD_CHECK(out_size[0] >= 1 && out_size[1] >= 1,
             "conv_transpose2d: input {} with weight {} gives an output of size ({}, {}), which is too small",
             shape_str(a.given.shape()), shape_str(a.weight.shape()), out_size[0], out_size[1]);

  ConvShape shape = kernel_geometry(a);
  shape.batch = a.x.size(0);
  shape.in_channels = out_channels;
  shape.in_height = out_size[0];
  shape.in_width = out_size[1];
  shape.out_channels = in_channels;
  shape.out_height = a.x.size(2);
  shape.out_width = a.x.size(3);

  Tensor input = a.x.contiguous(), weight = a.weight.contiguous();
  Tensor out = backward_input_kernel(shape, input, weight);
  if (a.bias.defined()) {
    Tensor bias = a.bias.contiguous();
    dispatch_floating(out.dtype(), "conv_transpose2d", [&]<typename T>() {
      kernels::cpu::add_channel_bias<T>(out.data<T>(), shape.batch, out_channels, out_size[0] * out_size[1],
                                        bias.data<T>());
    });
  }
  if (needs_grad({a.x, a.weight, a.bias})) {
    SavedTensor saved_input(a.weight.requires_grad() ? input : Tensor());
    SavedTensor saved_weight(a.x.requires_grad() ? weight : Tensor());
    const bool bias_grad = a.bias.defined() && a.bias.requires_grad();
    record("conv_transpose2d", {a.x, a.weight, a.bias}, out,
           [shape, saved_input, saved_weight, bias_grad](const Tensor& g) {
             Tensor grad = g.contiguous();
             Tensor grad_x, grad_weight, grad_bias;
             if (saved_weight.defined()) grad_x = forward_kernel(shape, grad, saved_weight.get(), Tensor());
             if (saved_input.defined()) grad_weight = backward_weight_kernel(shape, grad, saved_input.get());
             if (bias_grad) grad_bias = channel_sums_kernel(grad);
             return std::vector<Tensor>{grad_x, grad_weight, grad_bias};
           });
  }
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  Tensor batched = as_batched("conv2d", x);
  Tensor out = conv2d_batched(
      {"conv2d", x, batched, weight, bias, options.stride, options.padding, options.dilation, options.groups});
  return x.dim() == 3 ? out.squeeze(0) : out;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dOptions& options) {
  Tensor batched = as_batched("conv_transpose2d", x);
  Tensor out = conv_transpose2d_batched(
      {"conv_transpose2d", x, batched, weight, bias, options.stride, options.padding, options.dilation, options.groups},
      options.output_padding);
  return x.dim() == 3 ? out.squeeze(0) : out;
}

}  // namespace qatd
