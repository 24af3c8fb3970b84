#pragma once
// Separable resampling of a stack of (H, W) planes: the kernels behind interpolate. Every mode
// PyTorch offers for 4-D inputs (nearest, bilinear, bicubic, with or without antialiasing) is a
// sparse matrix along each axis; its index/weight tables are computed here with the formulas and
// float types of PyTorch's CPU kernels (ATen/native/UpSample.h, cpu/UpSampleKernel.cpp), so the
// same source pixels and weights come out. The 2-D resample applies the W table to every row,
// then the H table to every column, which is the order PyTorch sums in. The backward is the same
// resample with both tables transposed (a gather again, so it threads without write conflicts).
#include <cstdint>
#include <optional>
#include <vector>

namespace qatd::kernels::cpu {

enum class ResampleFilter {
  nearest,  // legacy 'nearest': source floor(dst * step), clamped
  linear,   // two taps; antialiased: a triangle widened by the step when downscaling
  cubic,    // four taps of Keys' cubic (A = -0.75), clamped to the border; antialiased: A = -0.5, widened
};

// One axis as a sparse matrix: output o = sum over k in [offsets[o], offsets[o + 1]) of
// weights[k] * input[indices[k]]. The sum is t0 * w0 followed by one fused multiply-add per
// further tap, or, for two-tap tables marked `pairwise`, fma(t0, w0, t1 * w1): the roundings of
// PyTorch's FMA-compiled x86 kernels.
template <typename T>
struct ResampleAxis {
  int64_t input_size = 0;
  int64_t output_size = 0;
  bool identity = false;  // output is the input unchanged: the pass along this axis is skipped
  bool pairwise = false;  // exactly two taps per output, summed as fma(t0, w0, t1 * w1)
  std::vector<int64_t> offsets;
  std::vector<int64_t> indices;
  std::vector<T> weights;

  int64_t nonzeros() const { return static_cast<int64_t>(indices.size()); }
};

// The table that resizes one axis from input_size to output_size (both > 0). `scale_factor` is
// the user's factor when one was given (PyTorch then samples with step 1 / scale_factor, as with
// recompute_scale_factor=None); otherwise the step is input_size / output_size, or
// (input_size - 1) / (output_size - 1) with align_corners.
template <typename T>
ResampleAxis<T> resample_axis(ResampleFilter filter, int64_t input_size, int64_t output_size, bool align_corners,
                              bool antialias, std::optional<double> scale_factor);

// The adjoint table: spreads output-axis values back over the input axis (the gradient).
template <typename T>
ResampleAxis<T> transpose_axis(const ResampleAxis<T>& axis);

// out (planes, rows.output_size, cols.output_size) from in (planes, rows.input_size,
// cols.input_size), both contiguous. Resamples W first, then H, as PyTorch does (the order fixes
// the rounding); with `cheapest_order` it takes whichever order does less work instead.
template <typename T>
void resample2d(const T* in, T* out, int64_t planes, const ResampleAxis<T>& rows, const ResampleAxis<T>& cols,
                bool cheapest_order);

}  // namespace qatd::kernels::cpu
