#include "engine/ops/pool.h"

#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/pool.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using kernels::cpu::PoolShape;

namespace {

int64_t floor_divide(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// PyTorch's pooling_output_shape: in ceil mode the last window must still start inside the input
// or its left padding.
int64_t output_size(int64_t input, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  int64_t size = floor_divide(input + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (size - 1) * stride >= input + pad) --size;
  return size;
}

// Validates x and the options, and returns the pooling geometry with x seen as planes of H x W.
PoolShape pool_shape(const char* op, const Tensor& x, const Pool2dOptions& o) {
  ops_detail::check_defined(op, x, "input");
  ops_detail::check_floating(op, x);
  QATD_CHECK(x.dim() == 3 || x.dim() == 4, "{}: input must be (N, C, H, W) or unbatched (C, H, W), got shape {}", op,
             shape_str(x.shape()));
  const int64_t rank = x.dim();
  QATD_CHECK(x.size(rank - 3) > 0 && x.size(rank - 2) > 0 && x.size(rank - 1) > 0,
             "{}: input of shape {} has an empty channel or spatial dimension", op, shape_str(x.shape()));
  std::array<int64_t, 2> stride;
  for (int d = 0; d < 2; ++d) {
    QATD_CHECK(o.kernel_size[d] >= 1, "{}: kernel_size must be positive, got ({}, {})", op, o.kernel_size[0],
               o.kernel_size[1]);
    QATD_CHECK(o.stride[d] >= 0, "{}: stride must be positive (or 0 for kernel_size), got ({}, {})", op, o.stride[0],
               o.stride[1]);
    QATD_CHECK(o.dilation[d] >= 1, "{}: dilation must be positive, got ({}, {})", op, o.dilation[0], o.dilation[1]);
    QATD_CHECK(o.padding[d] >= 0 && o.padding[d] <= o.kernel_size[d] / 2,
               "{}: padding ({}, {}) must be non-negative and at most half of kernel_size ({}, {})", op, o.padding[0],
               o.padding[1], o.kernel_size[0], o.kernel_size[1]);
    stride[d] = o.stride[d] == 0 ? o.kernel_size[d] : o.stride[d];
  }
  PoolShape shape;
  shape.planes = x.numel() / (x.size(rank - 2) * x.size(rank - 1));
  shape.in_height = x.size(rank - 2);
  shape.in_width = x.size(rank - 1);
  shape.kernel_height = o.kernel_size[0];
  shape.kernel_width = o.kernel_size[1];
  shape.stride_height = stride[0];
  shape.stride_width = stride[1];
  shape.pad_height = o.padding[0];
  shape.pad_width = o.padding[1];
  shape.dilation_height = o.dilation[0];
  shape.dilation_width = o.dilation[1];
  shape.out_height =
      output_size(shape.in_height, shape.kernel_height, shape.pad_height, stride[0], o.dilation[0], o.ceil_mode);
  shape.out_width =
      output_size(shape.in_width, shape.kernel_width, shape.pad_width, stride[1], o.dilation[1], o.ceil_mode);
  QATD_CHECK(shape.out_height >= 1 && shape.out_width >= 1,
             "{}: input of shape {} gives an output of size ({}, {}), which is too small", op, shape_str(x.shape()),
             shape.out_height, shape.out_width);
  return shape;
}

Shape output_shape(const Tensor& x, const PoolShape& shape) {
  Shape out = x.shape();
  out[out.size() - 2] = shape.out_height;
  out[out.size() - 1] = shape.out_width;
  return out;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  const PoolShape shape = pool_shape("max_pool2d", x, options);
  Tensor input = x.contiguous();
  Tensor out = empty(output_shape(x, shape), x.dtype());
  Tensor indices = empty(out.shape(), DType::i64);
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    kernels::cpu::max_pool2d_forward<T>(shape, input.data<T>(), out.data<T>(), indices.data<int64_t>());
  });
  if (needs_grad({x})) {
    SavedTensor saved_indices(indices);
    Shape x_shape = x.shape();
    record("max_pool2d", {x}, out, [shape, saved_indices, x_shape](const Tensor& g) {
      Tensor grad = g.contiguous();
      Tensor grad_x = empty(x_shape, g.dtype());
      dispatch_floating(g.dtype(), "max_pool2d", [&]<typename T>() {
        kernels::cpu::max_pool2d_backward<T>(shape, grad.data<T>(), saved_indices.get().data<int64_t>(),
                                             grad_x.data<T>());
      });
      return std::vector<Tensor>{grad_x};
    });
  }
  return out;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
  QATD_CHECK(options.dilation[0] == 1 && options.dilation[1] == 1,
             "avg_pool2d: dilation must be (1, 1) (average pooling has none), got ({}, {})", options.dilation[0],
             options.dilation[1]);
  const PoolShape shape = pool_shape("avg_pool2d", x, options);
  const bool count_include_pad = options.count_include_pad;
  Tensor input = x.contiguous();
  Tensor out = empty(output_shape(x, shape), x.dtype());
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
    kernels::cpu::avg_pool2d_forward<T>(shape, count_include_pad, input.data<T>(), out.data<T>());
  });
  if (needs_grad({x})) {
    Shape x_shape = x.shape();
    record("avg_pool2d", {x}, out, [shape, count_include_pad, x_shape](const Tensor& g) {
      Tensor grad = g.contiguous();
      Tensor grad_x = empty(x_shape, g.dtype());
      dispatch_floating(g.dtype(), "avg_pool2d", [&]<typename T>() {
        kernels::cpu::avg_pool2d_backward<T>(shape, count_include_pad, grad.data<T>(), grad_x.data<T>());
      });
      return std::vector<Tensor>{grad_x};
    });
  }
  return out;
}

}  // namespace qatd
