#include "engine/ops/interpolate.h"

#include <cmath>

#include "engine/autograd/node.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/interpolate.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using kernels::cpu::ResampleFilter;

namespace {

const char* mode_name(InterpolateMode mode) {
  switch (mode) {
    case InterpolateMode::nearest: return "nearest";
    case InterpolateMode::bilinear: return "bilinear";
    case InterpolateMode::bicubic: return "bicubic";
  }
  return "unknown";
}

ResampleFilter filter_of(InterpolateMode mode) {
  switch (mode) {
    case InterpolateMode::nearest: return ResampleFilter::nearest;
    case InterpolateMode::bilinear: return ResampleFilter::linear;
    case InterpolateMode::bicubic: return ResampleFilter::cubic;
  }
  fail("interpolate: unknown mode {}", static_cast<int>(mode));
}

// What the kernels need beyond the input: the output size and the user's scale factors.
struct Resize {
  std::array<int64_t, 2> output{};
  std::array<std::optional<double>, 2> scale_factor;
};

Resize plan_resize(const Tensor& x, const InterpolateOptions& options) {
  const char* mode = mode_name(options.mode);
  QATD_CHECK(options.size.has_value() != options.scale_factor.has_value(),
             "interpolate: exactly one of size and scale_factor must be set ({} given)",
             options.size ? "both" : "neither");
  QATD_CHECK(options.mode != InterpolateMode::nearest || !options.align_corners,
             "interpolate: align_corners applies to the bilinear and bicubic modes only, not {}", mode);
  QATD_CHECK(options.mode != InterpolateMode::nearest || !options.antialias,
             "interpolate: antialias applies to the bilinear and bicubic modes only, not {}", mode);
  const std::array<int64_t, 2> input = {x.shape()[2], x.shape()[3]};
  QATD_CHECK(x.shape()[1] > 0 && input[0] > 0 && input[1] > 0,
             "interpolate: input {} must have non-empty channel and spatial dims (only the batch may be 0)",
             shape_str(x.shape()));
  Resize resize;
  for (int axis = 0; axis < 2; ++axis) {
    if (options.size) {
      resize.output[axis] = (*options.size)[axis];
      QATD_CHECK(resize.output[axis] > 0, "interpolate: size ({}, {}) must be positive (input {}, mode {})",
                 (*options.size)[0], (*options.size)[1], shape_str(x.shape()), mode);
      continue;
    }
    double factor = (*options.scale_factor)[axis];
    QATD_CHECK(std::isfinite(factor) && factor > 0.0,
               "interpolate: scale_factor ({}, {}) must be positive and finite (input {}, mode {})",
               (*options.scale_factor)[0], (*options.scale_factor)[1], shape_str(x.shape()), mode);
    double scaled = static_cast<double>(input[axis]) * factor;
    // Far beyond any tensor that fits in memory; keeps the conversion to int64 defined.
    QATD_CHECK(scaled < 0x1p52, "interpolate: scale_factor {} makes dim {} of input {} too large", factor,
               axis + 2, shape_str(x.shape()));
    resize.output[axis] = static_cast<int64_t>(scaled);
    QATD_CHECK(resize.output[axis] > 0, "interpolate: scale_factor {} turns dim {} of input {} into size 0 (mode {})",
               factor, axis + 2, shape_str(x.shape()), mode);
    resize.scale_factor[axis] = factor;
  }
  int64_t count = 0;
  bool overflow = __builtin_mul_overflow(x.shape()[0] * x.shape()[1], resize.output[0], &count) ||
                  __builtin_mul_overflow(count, resize.output[1], &count);
  QATD_CHECK(!overflow, "interpolate: an output of ({}, {}) per plane for input {} has too many elements",
             resize.output[0], resize.output[1], shape_str(x.shape()));
  return resize;
}

// `adjoint` resamples an output-shaped gradient back onto the input shape.
template <typename T>
void run_resample(const T* source, T* target, const Shape& input_shape, const Resize& resize,
                  const InterpolateOptions& options, bool adjoint) {
  ResampleFilter filter = filter_of(options.mode);
  auto rows = kernels::cpu::resample_axis<T>(filter, input_shape[2], resize.output[0], options.align_corners,
                                             options.antialias, resize.scale_factor[0]);
  auto cols = kernels::cpu::resample_axis<T>(filter, input_shape[3], resize.output[1], options.align_corners,
                                             options.antialias, resize.scale_factor[1]);
  int64_t planes = input_shape[0] * input_shape[1];
  if (adjoint) {
    kernels::cpu::resample2d<T>(source, target, planes, kernels::cpu::transpose_axis(rows),
                                kernels::cpu::transpose_axis(cols), /*cheapest_order=*/true);
  } else {
    kernels::cpu::resample2d<T>(source, target, planes, rows, cols, /*cheapest_order=*/false);
  }
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& options) {
  ops_detail::check_defined("interpolate", x, "input");
  ops_detail::check_rank("interpolate", x, 4, "input", "(N, C, H, W)");
  ops_detail::check_floating("interpolate", x);
  Resize resize = plan_resize(x, options);

  Tensor input = x.detach().contiguous();
  Shape input_shape = x.shape();
  Tensor out = empty({input_shape[0], input_shape[1], resize.output[0], resize.output[1]}, x.dtype());
  dispatch_floating(x.dtype(), "interpolate", [&]<typename T>() {
    run_resample<T>(input.data<T>(), out.data<T>(), input_shape, resize, options, /*adjoint=*/false);
  });

  if (needs_grad({x})) {
    record(fmt::format("interpolate_{}", mode_name(options.mode)), {x}, out,
           [input_shape, resize, options](const Tensor& g) {
             Tensor grad_output = g.contiguous();
             Tensor grad_input = empty(input_shape, g.dtype());
             dispatch_floating(g.dtype(), "interpolate backward", [&]<typename T>() {
               run_resample<T>(grad_output.data<T>(), grad_input.data<T>(), input_shape, resize, options,
                               /*adjoint=*/true);
             });
             return std::vector<Tensor>{grad_input};
           });
  }
  return out;
}

}  // namespace qatd
