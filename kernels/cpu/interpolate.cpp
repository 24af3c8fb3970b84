#include "kernels/cpu/interpolate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// The arithmetic below keeps PyTorch's types step by step: T where it computes in scalar_t (or
// opmath_t, the same for float and double), double where its expressions promote (literals such
// as 0.5 and 1.0 are doubles there), and float where it calls floorf. That way the same source
// indices are chosen at exact ties and the weights round the same way.

// area_pixel_compute_scale: the distance in input pixels between neighbouring output pixels.
template <typename T>
T source_step(int64_t input_size, int64_t output_size, bool align_corners, std::optional<double> scale_factor) {
  if (align_corners) {
    return output_size > 1 ? static_cast<T>(input_size - 1) / static_cast<T>(output_size - 1) : T(0);
  }
  if (scale_factor && *scale_factor > 0.0) return static_cast<T>(1.0 / *scale_factor);
  return static_cast<T>(input_size) / static_cast<T>(output_size);
}

// area_pixel_compute_source_index: where output pixel `o` samples the input. Pixel centres map to
// pixel centres unless align_corners; linear modes clamp a negative position to 0, cubic keeps it.
template <typename T>
T source_position(T step, int64_t o, bool align_corners, bool cubic) {
  if (align_corners) return step * static_cast<T>(o);
  T scaled = step * (static_cast<T>(o) + T(0.5));
  // PyTorch's build rounds this product before subtracting; testing the product (not the
  // difference) against 0.5 gives it a second use, which keeps GCC 12 from fusing the two into an FMA.
  return (!cubic && scaled < T(0.5)) ? T(0) : scaled - T(0.5);
}

// guard_index_and_lambda: the input pixel at or left of `position` and the fraction past it.
template <typename T>
void split_position(T position, int64_t input_size, int64_t& index, T& fraction) {
  index = std::min(static_cast<int64_t>(std::floor(static_cast<float>(position))), input_size - 1);
  fraction = std::min(std::max(position - static_cast<T>(index), T(0)), T(1));
}

// Keys' cubic convolution kernel on [0, 1] and on [1, 2].
template <typename T>
T cubic_near(T x, T a) {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}

template <typename T>
T cubic_far(T x, T a) {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

template <typename T>
T triangle_filter(T x) {
  x = std::abs(x);
  return x < 1.0 ? static_cast<T>(1.0 - x) : T(0);
}

// The antialiasing path uses a = -0.5 (as Pillow does); plain bicubic uses -0.75 (as OpenCV).
template <typename T>
T keys_filter(T x) {
  const T a = T(-0.5);
  x = std::abs(x);
  if (x < 1.0) return cubic_near(x, a);
  if (x < 2.0) return cubic_far(x, a);
  return T(0);
}

// Appends the taps of one output pixel after another.
template <typename T>
struct TableBuilder {
  ResampleAxis<T> axis;

  TableBuilder(int64_t input_size, int64_t output_size, int64_t taps_hint) {
    axis.input_size = input_size;
    axis.output_size = output_size;
    axis.offsets.reserve(output_size + 1);
    axis.offsets.push_back(0);
    axis.indices.reserve(output_size * taps_hint);
    axis.weights.reserve(output_size * taps_hint);
  }
  void tap(int64_t index, T weight) {
    axis.indices.push_back(index);
    axis.weights.push_back(weight);
  }
  void next_output() { axis.offsets.push_back(axis.nonzeros()); }
};

// PyTorch's nearest_idx, in float whatever T is. Its backward always indexes this way, and so does
// its forward for small outputs; its large-output forward skips the two shortcuts, which only
// matters when a scale_factor disagrees with the sizes it produced.
template <typename T>
void nearest_taps(TableBuilder<T>& table, std::optional<double> scale_factor) {
  const int64_t input_size = table.axis.input_size, output_size = table.axis.output_size;
  const float step = source_step<float>(input_size, output_size, /*align_corners=*/false, scale_factor);
  for (int64_t o = 0; o < output_size; ++o) {
    int64_t index;
    if (output_size == input_size) {
      index = o;
    } else if (output_size == 2 * input_size) {
      index = o >> 1;
    } else {
      // No half-pixel offset: the legacy mode samples at the output pixel's top-left corner.
      index = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * step)), input_size - 1);
    }
    table.tap(index, T(1));
    table.next_output();
  }
}

template <typename T>
void linear_taps(TableBuilder<T>& table, T step, bool align_corners) {
  const int64_t input_size = table.axis.input_size;
  for (int64_t o = 0; o < table.axis.output_size; ++o) {
    if (input_size == table.axis.output_size) {
      table.tap(o, T(1));
      table.tap(o, T(0));
    } else {
      int64_t index;
      T fraction;
      split_position(source_position(step, o, align_corners, /*cubic=*/false), input_size, index, fraction);
      table.tap(index, static_cast<T>(1.0) - fraction);
      table.tap(index < input_size - 1 ? index + 1 : index, fraction);
    }
    table.next_output();
  }
}

template <typename T>
void cubic_taps(TableBuilder<T>& table, T step, bool align_corners) {
  const int64_t input_size = table.axis.input_size;
  const T a = T(-0.75);
  for (int64_t o = 0; o < table.axis.output_size; ++o) {
    int64_t index;
    T t;
    split_position(source_position(step, o, align_corners, /*cubic=*/true), input_size, index, t);
    T distance_right = static_cast<T>(1.0 - t);
    T coefficients[4] = {cubic_far(static_cast<T>(t + 1.0), a), cubic_near(t, a), cubic_near(distance_right, a),
                         cubic_far(static_cast<T>(distance_right + 1.0), a)};
    for (int64_t j = 0; j < 4; ++j) {
      table.tap(std::clamp<int64_t>(index - 1 + j, 0, input_size - 1), coefficients[j]);
    }
    table.next_output();
  }
}

// The antialiased taps (PyTorch's _compute_indices_min_size_weights_aa, after Pillow): a filter of
// half-width `taps / 2` input pixels, stretched by the step when downscaling so every input pixel
// under the output pixel contributes; the taps are normalized to sum to one per output pixel.
template <typename T>
void antialiased_taps(TableBuilder<T>& table, T step, ResampleFilter filter) {
  const int64_t input_size = table.axis.input_size;
  const double half_width = filter == ResampleFilter::linear ? 1.0 : 2.0;
  const T support = step >= 1.0 ? static_cast<T>(half_width * step) : static_cast<T>(half_width);
  const int64_t max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  const T inverse_step = step >= 1.0 ? static_cast<T>(1.0 / step) : T(1);
  std::vector<T> weights(max_taps);
  for (int64_t o = 0; o < table.axis.output_size; ++o) {
    T center = static_cast<T>(step * (static_cast<double>(o) + 0.5));
    int64_t first = std::max<int64_t>(static_cast<int64_t>(static_cast<double>(center - support) + 0.5), 0);
    int64_t count =
        std::min(static_cast<int64_t>(static_cast<double>(center + support) + 0.5), input_size) - first;
    // Rounding can reach one tap past max_taps; PyTorch clips it the same way.
    count = std::clamp<int64_t>(count, 0, max_taps);
    T total = T(0);
    for (int64_t j = 0; j < count; ++j) {
      T x = static_cast<T>((static_cast<double>(static_cast<T>(j + first) - center) + 0.5) * inverse_step);
      weights[j] = filter == ResampleFilter::linear ? triangle_filter(x) : keys_filter(x);
      total += weights[j];
    }
    for (int64_t j = 0; j < count; ++j) table.tap(first + j, total != T(0) ? weights[j] / total : weights[j]);
    table.next_output();
  }
}

// True when every output copies the input pixel at its own index with weight 1.
template <typename T>
bool is_identity(const ResampleAxis<T>& axis) {
  if (axis.input_size != axis.output_size || axis.nonzeros() != axis.output_size) return false;
  for (int64_t o = 0; o < axis.output_size; ++o) {
    if (axis.offsets[o] != o || axis.indices[o] != o || axis.weights[o] != T(1)) return false;
  }
  return true;
}

// a * b + c in one rounding where the hardware fuses it, as PyTorch's x86 kernels are compiled.
template <typename T>
inline T multiply_add(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// Resamples `Rows` rows at once along the contiguous axis. The rows share every index and
// weight, so the loop and branch costs are paid once per group, and the rows' sums are
// independent chains the CPU overlaps (one row alone waits on each FMA's latency).
template <int Rows, typename T>
void resample_row_group(const T* source, int64_t in_width, T* target, int64_t out_width, const ResampleAxis<T>& axis) {
  const int64_t* offsets = axis.offsets.data();
  const int64_t* indices = axis.indices.data();
  const T* weights = axis.weights.data();
  T sums[Rows];
  for (int64_t o = 0; o < out_width; ++o) {
    int64_t k = offsets[o];
    const int64_t k_end = offsets[o + 1];
    if (axis.pairwise) {
      const T* first = source + indices[k];
      const T* second = source + indices[k + 1];
      for (int r = 0; r < Rows; ++r) {
        sums[r] = multiply_add(first[r * in_width], weights[k], second[r * in_width] * weights[k + 1]);
      }
    } else if (k == k_end) {
      for (int r = 0; r < Rows; ++r) sums[r] = T(0);
    } else {
      const T* first = source + indices[k];
      for (int r = 0; r < Rows; ++r) sums[r] = first[r * in_width] * weights[k];
      for (++k; k < k_end; ++k) {
        const T* next = source + indices[k];
        const T weight = weights[k];
        for (int r = 0; r < Rows; ++r) sums[r] = multiply_add(next[r * in_width], weight, sums[r]);
      }
    }
    for (int r = 0; r < Rows; ++r) target[r * out_width + o] = sums[r];
  }
}

// out[r, :] = the table applied to in[r, :], for `count` rows along the contiguous axis.
template <typename T>
void resample_rows(const T* in, T* out, int64_t count, const ResampleAxis<T>& axis) {
  constexpr int kGroup = 8;
  const int64_t in_width = axis.input_size, out_width = axis.output_size;
  int64_t grain = std::max<int64_t>(kGroup, kElementwiseGrain / std::max<int64_t>(axis.nonzeros(), 1));
  parallel_for(0, count, grain, [&](int64_t begin, int64_t end) {
    int64_t r = begin;
    for (; r + kGroup <= end; r += kGroup) {
      resample_row_group<kGroup>(in + r * in_width, in_width, out + r * out_width, out_width, axis);
    }
    for (; r < end; ++r) resample_row_group<1>(in + r * in_width, in_width, out + r * out_width, out_width, axis);
  });
}

// target[x] = the sum continued over `Taps` more rows of taps (started at sources[0] * weights[0]
// when `Start`), in one sweep so the partial sums stay in registers.
template <int Taps, bool Start, typename T>
void accumulate_rows(T* target, const T* const* sources, const T* weights, int64_t width) {
  const T* s[Taps];
  T w[Taps];
  for (int j = 0; j < Taps; ++j) {
    s[j] = sources[j];
    w[j] = weights[j];
  }
#pragma omp simd
  for (int64_t x = 0; x < width; ++x) {
    T sum = Start ? s[0][x] * w[0] : multiply_add(s[0][x], w[0], target[x]);
    for (int j = 1; j < Taps; ++j) sum = multiply_add(s[j][x], w[j], sum);
    target[x] = sum;
  }
}

template <bool Start, typename T>
void accumulate_rows(int taps, T* target, const T* const* sources, const T* weights, int64_t width) {
  switch (taps) {
    case 1: accumulate_rows<1, Start>(target, sources, weights, width); break;
    case 2: accumulate_rows<2, Start>(target, sources, weights, width); break;
    case 3: accumulate_rows<3, Start>(target, sources, weights, width); break;
    default: accumulate_rows<4, Start>(target, sources, weights, width); break;
  }
}

// out[p, o, :] = the taps of row o applied to whole rows of in[p]: the inner loops run along the
// contiguous axis and vectorize.
template <typename T>
void resample_columns(const T* in, T* out, int64_t planes, int64_t width, const ResampleAxis<T>& axis) {
  constexpr int kSweep = 4;  // taps summed per pass over a row
  const int64_t in_height = axis.input_size, out_height = axis.output_size;
  const int64_t* offsets = axis.offsets.data();
  const int64_t* indices = axis.indices.data();
  const T* weights = axis.weights.data();
  int64_t taps_per_row = std::max<int64_t>(1, axis.nonzeros() / std::max<int64_t>(out_height, 1));
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / (taps_per_row * std::max<int64_t>(width, 1)));
  parallel_for(0, planes * out_height, grain, [&](int64_t begin, int64_t end) {
    const T* sources[kSweep];
    for (int64_t row = begin; row < end; ++row) {
      const int64_t plane = row / out_height, o = row % out_height;
      const T* source = in + plane * in_height * width;
      T* target = out + row * width;
      int64_t k = offsets[o];
      const int64_t k_end = offsets[o + 1];
      if (k == k_end) {
        std::fill(target, target + width, T(0));
        continue;
      }
      if (axis.pairwise) {
        const T* first = source + indices[k] * width;
        const T* second = source + indices[k + 1] * width;
        const T first_weight = weights[k], second_weight = weights[k + 1];
#pragma omp simd
        for (int64_t x = 0; x < width; ++x) target[x] = multiply_add(first[x], first_weight, second[x] * second_weight);
        continue;
      }
      for (bool start = true; k < k_end; start = false) {
        int taps = static_cast<int>(std::min<int64_t>(kSweep, k_end - k));
        for (int j = 0; j < taps; ++j) sources[j] = source + indices[k + j] * width;
        if (start) {
          accumulate_rows<true>(taps, target, sources, weights + k, width);
        } else {
          accumulate_rows<false>(taps, target, sources, weights + k, width);
        }
        k += taps;
      }
    }
  });
}

}  // namespace

template <typename T>
ResampleAxis<T> resample_axis(ResampleFilter filter, int64_t input_size, int64_t output_size, bool align_corners,
                              bool antialias, std::optional<double> scale_factor) {
  const T step = source_step<T>(input_size, output_size, align_corners, scale_factor);
  // PyTorch's antialiased kernel skips an axis whose size does not change.
  if (antialias && input_size == output_size) {
    TableBuilder<T> table(input_size, output_size, 1);
    for (int64_t o = 0; o < output_size; ++o) {
      table.tap(o, T(1));
      table.next_output();
    }
    table.axis.identity = true;
    return std::move(table.axis);
  }
  TableBuilder<T> table(input_size, output_size, filter == ResampleFilter::cubic ? 4 : 2);
  if (antialias) {
    antialiased_taps(table, step, filter);
  } else if (filter == ResampleFilter::nearest) {
    nearest_taps(table, scale_factor);
  } else if (filter == ResampleFilter::linear) {
    linear_taps(table, step, align_corners);
    table.axis.pairwise = true;
  } else {
    cubic_taps(table, step, align_corners);
  }
  table.axis.identity = is_identity(table.axis);
  return std::move(table.axis);
}

template <typename T>
ResampleAxis<T> transpose_axis(const ResampleAxis<T>& axis) {
  ResampleAxis<T> adjoint;
  adjoint.input_size = axis.output_size;
  adjoint.output_size = axis.input_size;
  adjoint.identity = axis.identity;
  adjoint.offsets.assign(axis.input_size + 1, 0);
  for (int64_t index : axis.indices) ++adjoint.offsets[index + 1];
  for (int64_t i = 0; i < axis.input_size; ++i) adjoint.offsets[i + 1] += adjoint.offsets[i];
  adjoint.indices.resize(axis.indices.size());
  adjoint.weights.resize(axis.weights.size());
  std::vector<int64_t> cursor(adjoint.offsets.begin(), adjoint.offsets.end() - 1);
  for (int64_t o = 0; o < axis.output_size; ++o) {
    for (int64_t k = axis.offsets[o]; k < axis.offsets[o + 1]; ++k) {
      int64_t slot = cursor[axis.indices[k]]++;
      adjoint.indices[slot] = o;
      adjoint.weights[slot] = axis.weights[k];
    }
  }
  return adjoint;
}

template <typename T>
void resample2d(const T* in, T* out, int64_t planes, const ResampleAxis<T>& rows, const ResampleAxis<T>& cols,
                bool cheapest_order) {
  const int64_t in_height = rows.input_size, in_width = cols.input_size;
  const int64_t out_height = rows.output_size, out_width = cols.output_size;
  if (planes == 0) return;
  if (rows.identity && cols.identity) {
    std::memcpy(out, in, sizeof(T) * planes * in_height * in_width);
    return;
  }
  if (rows.identity) {
    resample_rows(in, out, planes * in_height, cols);
    return;
  }
  if (cols.identity) {
    resample_columns(in, out, planes, in_width, rows);
    return;
  }
  bool width_first = true;
  if (cheapest_order) {
    int64_t width_first_work = in_height * cols.nonzeros() + rows.nonzeros() * out_width;
    int64_t height_first_work = rows.nonzeros() * in_width + out_height * cols.nonzeros();
    width_first = width_first_work <= height_first_work;
  }
  if (width_first) {
    std::unique_ptr<T[]> between(new T[planes * in_height * out_width]);
    resample_rows(in, between.get(), planes * in_height, cols);
    resample_columns(between.get(), out, planes, out_width, rows);
  } else {
    std::unique_ptr<T[]> between(new T[planes * out_height * in_width]);
    resample_columns(in, between.get(), planes, in_width, rows);
    resample_rows(between.get(), out, planes * out_height, cols);
  }
}

#define QATD_INSTANTIATE_INTERPOLATE(T)                                                                          \
  template ResampleAxis<T> resample_axis<T>(ResampleFilter, int64_t, int64_t, bool, bool, std::optional<double>); \
  template ResampleAxis<T> transpose_axis<T>(const ResampleAxis<T>&);                                             \
  template void resample2d<T>(const T*, T*, int64_t, const ResampleAxis<T>&, const ResampleAxis<T>&, bool);
QATD_INSTANTIATE_INTERPOLATE(float)
QATD_INSTANTIATE_INTERPOLATE(double)
#undef QATD_INSTANTIATE_INTERPOLATE

}  // namespace qatd::kernels::cpu
