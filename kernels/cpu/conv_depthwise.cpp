#include "kernels/cpu/conv_depthwise.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

template <typename T>
std::unique_ptr<T[]> scratch(int64_t size) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(std::max<int64_t>(size, 1))]);
}

// A 512-bit register's worth of T, in GCC's vector extension: sums held in these stay in
// registers across all taps of a kernel, where the compiler would keep an array in memory.
template <typename T>
struct Lanes {
  typedef T Vector __attribute__((vector_size(64)));
  static constexpr int64_t count = 64 / sizeof(T);
  static Vector load(const T* source) {
    Vector v;
    std::memcpy(&v, source, sizeof(v));
    return v;
  }
  static void store(const Vector& v, T* destination) { std::memcpy(destination, &v, sizeof(v)); }
  static double sum(const Vector& v) {
    double total = 0.0;
    for (int64_t i = 0; i < count; ++i) total += static_cast<double>(v[i]);
    return total;
  }
};

// Every plane is copied into a zero border, so that the inner loops run over whole rows without
// bounds tests.
struct PaddedPlane {
  int64_t height, width;
};

PaddedPlane padded_size(const ConvShape& s) {
  // An output lengthened by a transposed convolution's output_padding may reach past H + 2 * pad.
  int64_t height = std::max(s.in_height + 2 * s.pad_height,
                            (s.out_height - 1) * s.stride_height + (s.kernel_height - 1) * s.dilation_height + 1);
  int64_t width = std::max(s.in_width + 2 * s.pad_width,
                           (s.out_width - 1) * s.stride_width + (s.kernel_width - 1) * s.dilation_width + 1);
  return {height, width};
}

// Copies the height x width `plane` into `padded` (shape `bordered`) at (top, left), zeros elsewhere.
template <typename T>
void place_plane(const T* plane, int64_t height, int64_t width, PaddedPlane bordered, int64_t top, int64_t left,
                 T* padded) {
  std::fill(padded, padded + bordered.height * bordered.width, T(0));
  for (int64_t row = 0; row < height; ++row) {
    std::copy(plane + row * width, plane + (row + 1) * width, padded + (row + top) * bordered.width + left);
  }
}

// A kernel plane applied as a stride-1 correlation over a bordered buffer:
// out[i] = sum over (kh, kw) of w[kh, kw] * rows[kh * dilation_height * row_stride + kw * dilation_width + i].
struct Correlation {
  int64_t kernel_height, kernel_width, dilation_height, dilation_width, row_stride;
};

// Vectors * lanes consecutive outputs, their sums kept in registers over all taps.
template <typename T, int Vectors>
void correlate_segment(const Correlation& c, const T* rows, const T* w, T start, bool accumulate, T* out) {
  using L = Lanes<T>;
  typename L::Vector sums[Vectors];
  for (int v = 0; v < Vectors; ++v) sums[v] = accumulate ? L::load(out + v * L::count) : start - typename L::Vector{};
  for (int64_t kh = 0; kh < c.kernel_height; ++kh) {
    const T* row = rows + kh * c.dilation_height * c.row_stride;
    for (int64_t kw = 0; kw < c.kernel_width; ++kw) {
      const T* source = row + kw * c.dilation_width;
      const T tap = w[kh * c.kernel_width + kw];
      for (int v = 0; v < Vectors; ++v) sums[v] += tap * L::load(source + v * L::count);
    }
  }
  for (int v = 0; v < Vectors; ++v) L::store(sums[v], out + v * L::count);
}

// out[0, count) = start (or out itself when accumulating) plus the correlation, four registers at
// a time, then one, then element by element; every element sums its taps in the same order.
template <typename T>
void correlate_row(const Correlation& c, const T* rows, const T* w, T start, bool accumulate, int64_t count, T* out) {
  constexpr int64_t lanes = Lanes<T>::count;
  int64_t i = 0;
  for (; i + 4 * lanes <= count; i += 4 * lanes) correlate_segment<T, 4>(c, rows + i, w, start, accumulate, out + i);
  for (; i + lanes <= count; i += lanes) correlate_segment<T, 1>(c, rows + i, w, start, accumulate, out + i);
  for (; i < count; ++i) {
    T sum = accumulate ? out[i] : start;
    for (int64_t kh = 0; kh < c.kernel_height; ++kh) {
      for (int64_t kw = 0; kw < c.kernel_width; ++kw) {
        sum += w[kh * c.kernel_width + kw] * rows[kh * c.dilation_height * c.row_stride + kw * c.dilation_width + i];
      }
    }
    out[i] = sum;
  }
}

// Adds, for every tap, the products of Vectors * lanes consecutive output gradients with the
// inputs that tap reads (stride 1) into that tap's register of partial sums.
template <typename T, int Vectors>
void correlate_gradient_segment(const Correlation& c, const T* rows, const T* grad_row,
                                typename Lanes<T>::Vector* partial) {
  using L = Lanes<T>;
  typename L::Vector grad[Vectors];
  for (int v = 0; v < Vectors; ++v) grad[v] = L::load(grad_row + v * L::count);
  for (int64_t kh = 0; kh < c.kernel_height; ++kh) {
    const T* row = rows + kh * c.dilation_height * c.row_stride;
    for (int64_t kw = 0; kw < c.kernel_width; ++kw) {
      const T* source = row + kw * c.dilation_width;
      typename L::Vector product = grad[0] * L::load(source);
      for (int v = 1; v < Vectors; ++v) product += grad[v] * L::load(source + v * L::count);
      partial[kh * c.kernel_width + kw] += product;
    }
  }
}

// sum of x[i] * y[i * stride]
template <typename T>
T strided_dot(const T* __restrict x, const T* __restrict y, int64_t count, int64_t stride) {
  T total = T(0);
  if (stride == 1) {
#pragma omp simd reduction(+ : total)
    for (int64_t i = 0; i < count; ++i) total += x[i] * y[i];
  } else {
#pragma omp simd reduction(+ : total)
    for (int64_t i = 0; i < count; ++i) total += x[i] * y[i * stride];
  }
  return total;
}

int64_t plane_grain(const ConvShape& s) {
  int64_t work = s.out_height * s.out_width * s.kernel_height * s.kernel_width;
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work, 1));
}

}  // namespace

template <typename T>
void depthwise_conv2d_forward(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output) {
  const int64_t multiplier = s.out_channels / s.in_channels, taps = s.kernel_height * s.kernel_width;
  const PaddedPlane bordered = padded_size(s);
  const Correlation correlation{s.kernel_height, s.kernel_width, s.dilation_height, s.dilation_width, bordered.width};
  parallel_for(0, s.batch * s.out_channels, plane_grain(s), [&](int64_t begin, int64_t end) {
    auto padded = scratch<T>(bordered.height * bordered.width);
    int64_t padded_source = -1;
    for (int64_t index = begin; index < end; ++index) {
      const int64_t n = index / s.out_channels, out_channel = index % s.out_channels;
      const int64_t source = n * s.in_channels + out_channel / multiplier;
      if (source != padded_source) {
        place_plane(input + source * s.in_height * s.in_width, s.in_height, s.in_width, bordered, s.pad_height,
                    s.pad_width, padded.get());
        padded_source = source;
      }
      const T* w = weight + out_channel * taps;
      const T start = bias ? bias[out_channel] : T(0);
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        const T* rows = padded.get() + oh * s.stride_height * bordered.width;
        T* out_row = output + (index * s.out_height + oh) * s.out_width;
        if (s.stride_width == 1) {
          correlate_row(correlation, rows, w, start, false, s.out_width, out_row);
          continue;
        }
        std::fill(out_row, out_row + s.out_width, start);
        for (int64_t kh = 0; kh < s.kernel_height; ++kh) {
          for (int64_t kw = 0; kw < s.kernel_width; ++kw) {
            const T* source_row = rows + kh * s.dilation_height * bordered.width + kw * s.dilation_width;
            const T tap = w[kh * s.kernel_width + kw];
            for (int64_t ow = 0; ow < s.out_width; ++ow) out_row[ow] += tap * source_row[ow * s.stride_width];
          }
        }
      }
    }
  });
}

template <typename T>
void depthwise_conv2d_backward_input(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input) {
  const int64_t multiplier = s.out_channels / s.in_channels, taps = s.kernel_height * s.kernel_width;
  const int64_t positions = s.out_height * s.out_width, plane = s.in_height * s.in_width;
  if (s.stride_height == 1 && s.stride_width == 1) {
    // With stride 1 the input gradient is a correlation of the output gradient (bordered by the
    // dilated kernel's extent) with the flipped kernel: the forward's register-held loop applies.
    const int64_t top = (s.kernel_height - 1) * s.dilation_height, left = (s.kernel_width - 1) * s.dilation_width;
    const PaddedPlane bordered{top + std::max(s.out_height + top, s.in_height + s.pad_height),
                               left + std::max(s.out_width + left, s.in_width + s.pad_width)};
    const Correlation correlation{s.kernel_height, s.kernel_width, s.dilation_height, s.dilation_width, bordered.width};
    parallel_for(0, s.batch * s.in_channels, plane_grain(s), [&](int64_t begin, int64_t end) {
      auto padded = scratch<T>(bordered.height * bordered.width);
      std::vector<T> flipped(taps);
      for (int64_t index = begin; index < end; ++index) {
        const int64_t n = index / s.in_channels, in_channel = index % s.in_channels;
        for (int64_t m = 0; m < multiplier; ++m) {
          const int64_t out_channel = in_channel * multiplier + m;
          std::reverse_copy(weight + out_channel * taps, weight + (out_channel + 1) * taps, flipped.begin());
          place_plane(grad_output + (n * s.out_channels + out_channel) * positions, s.out_height, s.out_width, bordered,
                      top, left, padded.get());
          for (int64_t ih = 0; ih < s.in_height; ++ih) {
            const T* rows = padded.get() + (ih + s.pad_height) * bordered.width + s.pad_width;
            correlate_row(correlation, rows, flipped.data(), T(0), m > 0, s.in_width,
                          grad_input + index * plane + ih * s.in_width);
          }
        }
      }
    });
    return;
  }
  // Strided: scatter each output gradient over its taps in a bordered buffer, then crop.
  const PaddedPlane bordered = padded_size(s);
  parallel_for(0, s.batch * s.in_channels, plane_grain(s), [&](int64_t begin, int64_t end) {
    auto padded = scratch<T>(bordered.height * bordered.width);
    for (int64_t index = begin; index < end; ++index) {
      const int64_t n = index / s.in_channels, in_channel = index % s.in_channels;
      std::fill(padded.get(), padded.get() + bordered.height * bordered.width, T(0));
      for (int64_t m = 0; m < multiplier; ++m) {
        const int64_t out_channel = in_channel * multiplier + m;
        const T* w = weight + out_channel * taps;
        const T* grad_plane = grad_output + (n * s.out_channels + out_channel) * positions;
        for (int64_t oh = 0; oh < s.out_height; ++oh) {
          for (int64_t kh = 0; kh < s.kernel_height; ++kh) {
            T* row = padded.get() + (oh * s.stride_height + kh * s.dilation_height) * bordered.width;
            for (int64_t kw = 0; kw < s.kernel_width; ++kw) {
              const T tap = w[kh * s.kernel_width + kw];
              for (int64_t ow = 0; ow < s.out_width; ++ow) {
                row[ow * s.stride_width + kw * s.dilation_width] += tap * grad_plane[oh * s.out_width + ow];
              }
            }
          }
        }
      }
      for (int64_t ih = 0; ih < s.in_height; ++ih) {
        const T* source = padded.get() + (ih + s.pad_height) * bordered.width + s.pad_width;
        std::copy(source, source + s.in_width, grad_input + index * plane + ih * s.in_width);
      }
    }
  });
}

template <typename T>
void depthwise_conv2d_backward_weight(const ConvShape& s, const T* input, const T* grad_output, T* grad_weight) {
  using L = Lanes<T>;
  const int64_t multiplier = s.out_channels / s.in_channels, taps = s.kernel_height * s.kernel_width;
  const int64_t positions = s.out_height * s.out_width, plane = s.in_height * s.in_width;
  const PaddedPlane bordered = padded_size(s);
  // Stride 1: whole registers of products are summed per tap over a plane, then reduced once.
  const int64_t vector_columns = s.stride_width == 1 ? s.out_width / L::count * L::count : 0;
  const Correlation correlation{s.kernel_height, s.kernel_width, s.dilation_height, s.dilation_width, bordered.width};
  parallel_for(0, s.out_channels, 1, [&](int64_t begin, int64_t end) {
    auto padded = scratch<T>(bordered.height * bordered.width);
    std::vector<typename L::Vector> partial(taps);
    std::vector<double> sums(taps);
    for (int64_t out_channel = begin; out_channel < end; ++out_channel) {
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t n = 0; n < s.batch; ++n) {
        place_plane(input + (n * s.in_channels + out_channel / multiplier) * plane, s.in_height, s.in_width, bordered,
                    s.pad_height, s.pad_width, padded.get());
        const T* grad_plane = grad_output + (n * s.out_channels + out_channel) * positions;
        std::fill(partial.begin(), partial.end(), typename L::Vector{});
        for (int64_t oh = 0; oh < s.out_height; ++oh) {
          const T* grad_row = grad_plane + oh * s.out_width;
          const T* rows = padded.get() + oh * s.stride_height * bordered.width;
          int64_t first = 0;
          for (; first + 4 * L::count <= vector_columns; first += 4 * L::count) {
            correlate_gradient_segment<T, 4>(correlation, rows + first, grad_row + first, partial.data());
          }
          for (; first < vector_columns; first += L::count) {
            correlate_gradient_segment<T, 1>(correlation, rows + first, grad_row + first, partial.data());
          }
          for (int64_t kh = 0; kh < s.kernel_height && vector_columns < s.out_width; ++kh) {
            const T* row = rows + kh * s.dilation_height * bordered.width + vector_columns * s.stride_width;
            for (int64_t kw = 0; kw < s.kernel_width; ++kw) {
              sums[kh * s.kernel_width + kw] += strided_dot(grad_row + vector_columns, row + kw * s.dilation_width,
                                                            s.out_width - vector_columns, s.stride_width);
            }
          }
        }
        for (int64_t tap = 0; tap < taps; ++tap) sums[tap] += L::sum(partial[tap]);
      }
      for (int64_t tap = 0; tap < taps; ++tap) grad_weight[out_channel * taps + tap] = static_cast<T>(sums[tap]);
    }
  });
}

#define QATD_INSTANTIATE_DEPTHWISE(T)                                                            \
  template void depthwise_conv2d_forward<T>(const ConvShape&, const T*, const T*, const T*, T*); \
  template void depthwise_conv2d_backward_input<T>(const ConvShape&, const T*, const T*, T*);    \
  template void depthwise_conv2d_backward_weight<T>(const ConvShape&, const T*, const T*, T*);
QATD_INSTANTIATE_DEPTHWISE(float)
QATD_INSTANTIATE_DEPTHWISE(double)
#undef QATD_INSTANTIATE_DEPTHWISE

}  // namespace qatd::kernels::cpu
