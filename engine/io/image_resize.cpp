#include "engine/io/image_resize.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "engine/error.h"
#include "kernels/cpu/parallel.h"

namespace qatd::io {

namespace {

// Pillow's fixed point: 8 bits of result, 2 bits of headroom for filters with negative lobes.
constexpr int kPrecisionBits = 32 - 8 - 2;

using FilterFunction = double (*)(double);

struct FilterSpec {
  FilterFunction function;
  double support;  // half-width at scale 1
};

// Bit-exactness with Pillow needs every double operation below rounded on its own, as Pillow's
// x86-64 builds do (no FMA there); compilers otherwise fuse a * b + c when FMA is available.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

double box_weight(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

double bilinear_weight(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_weight(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * std::numbers::pi;
  // Pillow writes these constants as floats; they are widened to double, not rounded from 0.54.
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

// Keys' cubic convolution with a = -0.5.
double bicubic_weight(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos_weight(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct TapGeometry {
  double scale;           // input pixels per output pixel
  double support;         // filter half-width in input pixels
  double inverse_filterscale;
};

TapGeometry tap_geometry(const FilterSpec& filter, int in_size, int out_size) {
  // Pillow takes the region as float box coordinates (0, in_size), so sizes past 2^24 round.
  float in0 = 0.0f, in1 = static_cast<float>(in_size);
  TapGeometry geometry{};
  geometry.scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = geometry.scale < 1.0 ? 1.0 : geometry.scale;
  geometry.support = filter.support * filterscale;
  geometry.inverse_filterscale = 1.0 / filterscale;
  return geometry;
}

// The taps of output index `out`: their first input index, their count, and their weights normalised
// to sum 1 (left unnormalised when they sum to 0), written to `weights`.
void tap_weights(const FilterSpec& filter, const TapGeometry& geometry, int in_size, int out, int* first, int* count,
                 double* weights) {
  double center = 0.0 + (out + 0.5) * geometry.scale;
  // Truncation toward zero, then clamping, exactly as Pillow rounds the window ends.
  int begin = static_cast<int>(center - geometry.support + 0.5);
  if (begin < 0) begin = 0;
  int end = static_cast<int>(center + geometry.support + 0.5);
  if (end > in_size) end = in_size;
  int taps = end - begin;
  double total = 0.0;
  for (int x = 0; x < taps; ++x) {
    double w = filter.function((x + begin - center + 0.5) * geometry.inverse_filterscale);
    weights[x] = w;
    total += w;
  }
  if (total != 0.0) {
    for (int x = 0; x < taps; ++x) weights[x] /= total;
  }
  *first = begin;
  *count = taps;
}

int32_t to_fixed_point(double weight) {
  return weight < 0 ? static_cast<int32_t>(-0.5 + weight * (1 << kPrecisionBits))
                    : static_cast<int32_t>(0.5 + weight * (1 << kPrecisionBits));
}

// COORD in Pillow's Geometry.c: truncation, with everything below 0 mapped to -1 (outside).
int nearest_coordinate(double v) { return v < 0.0 ? -1 : static_cast<int>(v); }

// Pillow's ImagingScaleAffine: the source coordinate starts at half a step and accumulates the step in
// double; indices that fall outside the source are -1 (those pixels stay 0).
void nearest_indices(int64_t in_size, int64_t out_size, int* indices) {
  double step = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  double position = 0.0 + step * 0.5;
  for (int64_t i = 0; i < out_size; ++i) {
    int index = nearest_coordinate(position);
    indices[i] = index < in_size ? index : -1;
    position += step;
  }
}

#if defined(__clang__)
#pragma clang fp contract(on)
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

FilterSpec filter_spec(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::box: return {box_weight, 0.5};
    case ResampleFilter::bilinear: return {bilinear_weight, 1.0};
    case ResampleFilter::hamming: return {hamming_weight, 1.0};
    case ResampleFilter::bicubic: return {bicubic_weight, 2.0};
    case ResampleFilter::lanczos: return {lanczos_weight, 3.0};
    case ResampleFilter::nearest: break;
  }
  fail("resize_image: filter {} has no convolution kernel", resample_filter_name(filter));
}

// One axis of a resampling: for each output index, `count` taps from input index `first`, with
// fixed-point weights at weights[out * max_taps ...].
struct AxisTaps {
  int max_taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

AxisTaps axis_taps(ResampleFilter filter, int in_size, int out_size) {
  FilterSpec spec = filter_spec(filter);
  TapGeometry geometry = tap_geometry(spec, in_size, out_size);
  AxisTaps taps;
  int64_t max_taps = static_cast<int64_t>(std::ceil(geometry.support)) * 2 + 1;
  // Pillow's own limit on its coefficient buffer.
  QATD_CHECK(out_size <= INT_MAX / (max_taps * static_cast<int64_t>(sizeof(double))),
             "resize_image: {} to {} pixels along one axis with a {}-tap {} filter is more than PIL can allocate",
             in_size, out_size, max_taps, resample_filter_name(filter));
  taps.max_taps = static_cast<int>(max_taps);
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<size_t>(out_size) * taps.max_taps, 0);
  std::vector<double> weights(taps.max_taps);
  for (int out = 0; out < out_size; ++out) {
    tap_weights(spec, geometry, in_size, out, &taps.first[out], &taps.count[out], weights.data());
    int32_t* fixed = taps.weights.data() + static_cast<size_t>(out) * taps.max_taps;
    for (int x = 0; x < taps.count[out]; ++x) fixed[x] = to_fixed_point(weights[x]);
  }
  return taps;
}

uint8_t clip_to_byte(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255)); }

constexpr int32_t kRoundingHalf = 1 << (kPrecisionBits - 1);

// Rows x channels of work per thread below which threading does not pay.
int64_t grain_rows(int64_t work_per_row) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(work_per_row, 1)); }

// Resamples each of `rows` rows from in_width to out_width pixels. Channels is the pixel size when known
// at compile time (0: `channels` at run time).
template <int Channels>
void horizontal_pass(const uint8_t* in, int64_t in_width, int64_t channels, int64_t rows, const AxisTaps& taps,
                     uint8_t* out, int64_t out_width) {
  const int64_t pixel = Channels > 0 ? Channels : channels;
  kernels::cpu::parallel_for(0, rows, grain_rows(out_width * pixel * taps.max_taps), [&](int64_t begin, int64_t end) {
    std::vector<int32_t> sums(pixel);
    for (int64_t row = begin; row < end; ++row) {
      const uint8_t* line = in + row * in_width * pixel;
      uint8_t* target = out + row * out_width * pixel;
      for (int64_t x = 0; x < out_width; ++x) {
        const int32_t* weights = taps.weights.data() + x * taps.max_taps;
        const uint8_t* source = line + static_cast<int64_t>(taps.first[x]) * pixel;
        int count = taps.count[x];
        std::fill(sums.begin(), sums.end(), kRoundingHalf);
        for (int tap = 0; tap < count; ++tap) {
          for (int64_t c = 0; c < pixel; ++c) sums[c] += source[tap * pixel + c] * weights[tap];
        }
        for (int64_t c = 0; c < pixel; ++c) target[x * pixel + c] = clip_to_byte(sums[c]);
      }
    }
  });
}

// Resamples along the rows: output row y mixes input rows first[y] - row_shift onwards. Integer sums are
// exact, so accumulating a whole row at a time gives Pillow's per-pixel results.
void vertical_pass(const uint8_t* in, int64_t row_values, const AxisTaps& taps, int row_shift, uint8_t* out,
                   int64_t out_rows) {
  kernels::cpu::parallel_for(0, out_rows, grain_rows(row_values * taps.max_taps), [&](int64_t begin, int64_t end) {
    std::vector<int32_t> sums(row_values);
    for (int64_t y = begin; y < end; ++y) {
      std::fill(sums.begin(), sums.end(), kRoundingHalf);
      const int32_t* weights = taps.weights.data() + y * taps.max_taps;
      const uint8_t* rows = in + static_cast<int64_t>(taps.first[y] - row_shift) * row_values;
      for (int tap = 0; tap < taps.count[y]; ++tap) {
        const uint8_t* line = rows + tap * row_values;
        int32_t weight = weights[tap];
        int32_t* accumulator = sums.data();
        for (int64_t i = 0; i < row_values; ++i) accumulator[i] += line[i] * weight;
      }
      uint8_t* target = out + y * row_values;
      for (int64_t i = 0; i < row_values; ++i) target[i] = clip_to_byte(sums[i]);
    }
  });
}

void horizontal_dispatch(const uint8_t* in, int64_t in_width, int64_t channels, int64_t rows, const AxisTaps& taps,
                         uint8_t* out, int64_t out_width) {
  switch (channels) {
    case 1: return horizontal_pass<1>(in, in_width, channels, rows, taps, out, out_width);
    case 2: return horizontal_pass<2>(in, in_width, channels, rows, taps, out, out_width);
    case 3: return horizontal_pass<3>(in, in_width, channels, rows, taps, out, out_width);
    case 4: return horizontal_pass<4>(in, in_width, channels, rows, taps, out, out_width);
    default: return horizontal_pass<0>(in, in_width, channels, rows, taps, out, out_width);
  }
}

// Pillow's ImagingResampleInner. Horizontal pass first, reading only the rows the vertical pass needs;
// but since Pillow 13, when the height shrinks while the width does not, the vertical pass goes first
// (the order changes the rounding between the passes, so it is part of the result).
void resample(const uint8_t* in, int64_t in_height, int64_t in_width, int64_t channels, ResampleFilter filter,
              uint8_t* out, int64_t out_height, int64_t out_width) {
  bool need_horizontal = out_width != in_width;
  bool need_vertical = out_height != in_height;
  AxisTaps vertical = axis_taps(filter, static_cast<int>(in_height), static_cast<int>(out_height));
  if (!need_horizontal) {
    vertical_pass(in, in_width * channels, vertical, 0, out, out_height);
    return;
  }
  AxisTaps horizontal = axis_taps(filter, static_cast<int>(in_width), static_cast<int>(out_width));
  if (!need_vertical) {
    horizontal_dispatch(in, in_width, channels, in_height, horizontal, out, out_width);
    return;
  }
  // Pillow compares against its float box, (0, 0, in_width, in_height).
  bool horizontal_first = !(static_cast<float>(out_width) >= static_cast<float>(in_width) &&
                            static_cast<float>(out_height) < static_cast<float>(in_height));
  if (horizontal_first) {
    int first_row = vertical.first.front();
    int end_row = vertical.first.back() + vertical.count.back();
    std::vector<uint8_t> between(static_cast<size_t>(end_row - first_row) * out_width * channels);
    horizontal_dispatch(in + first_row * in_width * channels, in_width, channels, end_row - first_row, horizontal,
                        between.data(), out_width);
    vertical_pass(between.data(), out_width * channels, vertical, first_row, out, out_height);
  } else {
    std::vector<uint8_t> between(static_cast<size_t>(out_height) * in_width * channels);
    vertical_pass(in, in_width * channels, vertical, 0, between.data(), out_height);
    horizontal_dispatch(between.data(), in_width, channels, out_height, horizontal, out, out_width);
  }
}

void resize_nearest(const uint8_t* in, int64_t in_height, int64_t in_width, int64_t channels, uint8_t* out,
                    int64_t out_height, int64_t out_width) {
  std::vector<int> columns(out_width), rows(out_height);
  nearest_indices(in_width, out_width, columns.data());
  nearest_indices(in_height, out_height, rows.data());
  int64_t row_values = out_width * channels;
  kernels::cpu::parallel_for(0, out_height, grain_rows(row_values), [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      uint8_t* target = out + y * row_values;
      std::memset(target, 0, row_values);
      if (rows[y] < 0) continue;
      const uint8_t* line = in + rows[y] * in_width * channels;
      for (int64_t x = 0; x < out_width; ++x) {
        if (columns[x] < 0) continue;
        std::memcpy(target + x * channels, line + columns[x] * channels, channels);
      }
    }
  });
}

}  // namespace

std::string_view resample_filter_name(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::nearest: return "nearest";
    case ResampleFilter::box: return "box";
    case ResampleFilter::bilinear: return "bilinear";
    case ResampleFilter::hamming: return "hamming";
    case ResampleFilter::bicubic: return "bicubic";
    case ResampleFilter::lanczos: return "lanczos";
  }
  return "unknown";
}

Tensor resize_image(const Tensor& image, int64_t height, int64_t width, ResampleFilter filter) {
  QATD_CHECK(image.defined(), "resize_image: undefined image");
  QATD_CHECK((image.dim() == 2 || image.dim() == 3) && image.dtype() == DType::u8,
             "resize_image: expected an (H, W) or (H, W, C) uint8 image, got {} {}", shape_str(image.shape()),
             image.dtype());
  QATD_CHECK(image.device().is_cpu(), "resize_image: the image is on {}; resizing runs on the CPU",
             image.device().str());
  int64_t in_height = image.size(0), in_width = image.size(1);
  int64_t channels = image.dim() == 3 ? image.size(2) : 1;
  QATD_CHECK(in_height > 0 && in_width > 0 && channels > 0, "resize_image: empty image {}",
             shape_str(image.shape()));
  QATD_CHECK(height > 0 && width > 0, "resize_image: the size must be positive, got {}x{} (height x width)", height,
             width);
  QATD_CHECK(in_height <= INT_MAX && in_width <= INT_MAX && height <= INT_MAX && width <= INT_MAX,
             "resize_image: {} to {}x{}: sizes past {} pixels along an axis are not supported (PIL's are C ints)",
             shape_str(image.shape()), height, width, INT_MAX);
  Shape out_shape = image.dim() == 3 ? Shape{height, width, channels} : Shape{height, width};
  if (height == in_height && width == in_width) return image.clone();
  Tensor pixels = image.contiguous();
  Tensor resized = empty(out_shape, DType::u8);
  const uint8_t* in = pixels.data<uint8_t>();
  uint8_t* out = resized.data<uint8_t>();
  if (filter == ResampleFilter::nearest) {
    resize_nearest(in, in_height, in_width, channels, out, height, width);
  } else {
    resample(in, in_height, in_width, channels, filter, out, height, width);
  }
  return resized;
}

}  // namespace qatd::io
