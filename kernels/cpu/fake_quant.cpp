#include "kernels/cpu/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// A single channel holds the whole buffer: one run per chunk instead of one per `inner` elements.
QuantLayout normalized(const QuantLayout& layout) {
  if (layout.channels == 1) return {1, 1, layout.numel()};
  return layout;
}

// Calls row(start, length, channel) for every run of [begin, end) that stays in one channel.
// When channels are innermost (inner == 1) the channel changes with every element, so instead
// it calls run(start, length, first_channel) for runs inside one outer row, where element
// start + i belongs to channel first_channel + i: the loops then read the grids as arrays.
template <typename Row, typename Run>
void for_each_segment(const QuantLayout& layout, int64_t begin, int64_t end, Row&& row, Run&& run) {
  if (layout.inner == 1 && layout.channels > 1) {
    for (int64_t e = begin; e < end;) {
      const int64_t channel = e % layout.channels;
      const int64_t stop = std::min(end, e + layout.channels - channel);
      run(e, stop - e, channel);
      e = stop;
    }
    return;
  }
  for (int64_t e = begin; e < end;) {
    const int64_t row_index = e / layout.inner;
    const int64_t stop = std::min(end, (row_index + 1) * layout.inner);
    row(e, stop - e, row_index % layout.channels);
    e = stop;
  }
}

// Reductions split the buffer into a fixed number of chunks that depends only on its size (not on
// the thread count), each with its own partial sums, added in chunk order: results are
// reproducible. Fewer chunks when there are many channels keep the partials small.
int64_t chunk_count(const QuantLayout& layout, int64_t values_per_channel) {
  const int64_t by_size = std::max<int64_t>(1, layout.numel() / kElementwiseGrain);
  const int64_t by_memory =
      std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, layout.channels * values_per_channel));
  return std::min<int64_t>({by_size, by_memory, 64});
}

template <typename Body>
void for_each_chunk(int64_t count, int64_t chunks, Body&& body) {
  parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk) body(chunk, count * chunk / chunks, count * (chunk + 1) / chunks);
  });
}

// Elements whose terms are summed in T (vector-wide) before they are added to a double partial.
constexpr int64_t kBlock = 2048;

// Adding +0 turns a level of -0 (a small negative x) into +0, as torch's integer round trip does,
// so that the integer export (which cannot store -0) reproduces the forward bit for bit.
template <typename T>
inline T quantize(T x, T scale, T inv_scale, T low, T high) {
  return (std::min(std::max(std::nearbyint(x * inv_scale), low), high) + T(0)) * scale;
}

// One channel's grid as scalars (the row loops broadcast them).
template <typename T>
struct ScalarGrid {
  T scale, inv_scale, low, high;
  ScalarGrid(const QuantGridView<T>& grid, int64_t c)
      : scale(grid.scale[c]), inv_scale(grid.inv_scale[c]), low(grid.low[c]), high(grid.high[c]) {}
  T apply(T x) const { return quantize(x, scale, inv_scale, low, high); }
};

// The sums of fake_quant_backward, in [chunk][kind][channel] partials.
enum SumKind : int64_t { kStep, kAbove, kBelow, kLevel, kSumKinds };

template <typename T, bool kGradX, bool kSums, bool kLevelSum>
void backward_impl(const T* grad_y, const T* x, const QuantLayout& layout, const QuantGridView<T>& grid,
                   const QuantGridView<T>* lower, const QuantGridView<T>* upper, T* grad_x,
                   const FakeQuantSums& sums) {
  const int64_t channels = layout.channels;
  const int64_t chunks = (kSums || kLevelSum) ? chunk_count(layout, kSumKinds)
                                              : std::max<int64_t>(1, layout.numel() / kElementwiseGrain);
  std::vector<double> partials((kSums || kLevelSum) ? chunks * kSumKinds * channels : 0, 0.0);
  for_each_chunk(layout.numel(), chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    double* const partial = (kSums || kLevelSum) ? partials.data() + chunk * kSumKinds * channels : nullptr;
    const T* const gy = grad_y;
    const T* const in = x;
    T* const gx = grad_x;
    auto row = [&](int64_t start, int64_t length, int64_t c) {
      const T scale_inv = grid.inv_scale[c], low = grid.low[c], high = grid.high[c];
      const ScalarGrid<T> below_grid = kLevelSum ? ScalarGrid<T>(*lower, c) : ScalarGrid<T>(grid, c);
      const ScalarGrid<T> above_grid = kLevelSum ? ScalarGrid<T>(*upper, c) : ScalarGrid<T>(grid, c);
      for (int64_t block = 0; block < length; block += kBlock) {
        const int64_t count = std::min(kBlock, length - block);
        const T* xs = in + start + block;
        const T* gs = gy + start + block;
        T* gxs = kGradX ? gx + start + block : nullptr;
        T step = 0, above = 0, below = 0, level = 0;
#pragma omp simd reduction(+ : step, above, below, level)
        for (int64_t i = 0; i < count; ++i) {
          const T g = gs[i];
          const T u = xs[i] * scale_inv;
          const T r = std::nearbyint(u);
          const bool under = r < low, over = r > high;
          if constexpr (kGradX) gxs[i] = (under || over) ? T(0) : g;
          if constexpr (kSums) {
            step += g * (under ? low : (over ? high : r - u));
            above += over ? g : T(0);
            below += under ? g : T(0);
          }
          if constexpr (kLevelSum) level += g * (above_grid.apply(xs[i]) - below_grid.apply(xs[i]));
        }
        if constexpr (kSums) {
          partial[kStep * channels + c] += step;
          partial[kAbove * channels + c] += above;
          partial[kBelow * channels + c] += below;
        }
        if constexpr (kLevelSum) partial[kLevel * channels + c] += level;
      }
    };
    auto run = [&](int64_t start, int64_t length, int64_t first) {
      const T* scale_inv = grid.inv_scale + first;
      const T* low = grid.low + first;
      const T* high = grid.high + first;
      const T* xs = in + start;
      const T* gs = gy + start;
      T* gxs = kGradX ? gx + start : nullptr;
      double* step = partial ? partial + kStep * channels + first : nullptr;
      double* above = partial ? partial + kAbove * channels + first : nullptr;
      double* below = partial ? partial + kBelow * channels + first : nullptr;
      double* level = partial ? partial + kLevel * channels + first : nullptr;
      for (int64_t i = 0; i < length; ++i) {
        const T g = gs[i];
        const T u = xs[i] * scale_inv[i];
        const T r = std::nearbyint(u);
        const bool under = r < low[i], over = r > high[i];
        if constexpr (kGradX) gxs[i] = (under || over) ? T(0) : g;
        if constexpr (kSums) {
          step[i] += static_cast<double>(g * (under ? low[i] : (over ? high[i] : r - u)));
          above[i] += over ? static_cast<double>(g) : 0.0;
          below[i] += under ? static_cast<double>(g) : 0.0;
        }
        if constexpr (kLevelSum) {
          const int64_t c = first + i;
          level[i] += static_cast<double>(g * (ScalarGrid<T>(*upper, c).apply(xs[i]) - ScalarGrid<T>(*lower, c).apply(xs[i])));
        }
      }
    };
    for_each_segment(layout, begin, end, row, run);
  });
  if (!(kSums || kLevelSum)) return;
  double* outputs[kSumKinds] = {sums.step, sums.above, sums.below, sums.level_difference};
  for (int64_t kind = 0; kind < kSumKinds; ++kind) {
    if (!outputs[kind]) continue;
    for (int64_t c = 0; c < channels; ++c) {
      double total = 0.0;
      for (int64_t chunk = 0; chunk < chunks; ++chunk) total += partials[(chunk * kSumKinds + kind) * channels + c];
      outputs[kind][c] = total;
    }
  }
}

}  // namespace

template <typename T>
void fake_quant_forward(const T* x, const QuantLayout& layout_in, const QuantGridView<T>& grid, T* y) {
  const QuantLayout layout = normalized(layout_in);
  parallel_for(0, layout.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    const T* const in = x;
    T* const out = y;
    auto row = [&](int64_t start, int64_t length, int64_t c) {
      const T scale = grid.scale[c], scale_inv = grid.inv_scale[c], low = grid.low[c], high = grid.high[c];
      const T* xs = in + start;
      T* ys = out + start;
#pragma omp simd
      for (int64_t i = 0; i < length; ++i) ys[i] = quantize(xs[i], scale, scale_inv, low, high);
    };
    auto run = [&](int64_t start, int64_t length, int64_t first) {
      const T* scale = grid.scale + first;
      const T* scale_inv = grid.inv_scale + first;
      const T* low = grid.low + first;
      const T* high = grid.high + first;
      const T* xs = in + start;
      T* ys = out + start;
#pragma omp simd
      for (int64_t i = 0; i < length; ++i) ys[i] = quantize(xs[i], scale[i], scale_inv[i], low[i], high[i]);
    };
    for_each_segment(layout, begin, end, row, run);
  });
}

template <typename T>
void fake_quant_backward(const T* grad_y, const T* x, const QuantLayout& layout_in, const QuantGridView<T>& grid,
                         const QuantGridView<T>* lower, const QuantGridView<T>* upper, T* grad_x,
                         const FakeQuantSums& sums) {
  const QuantLayout layout = normalized(layout_in);
  const bool want_x = grad_x != nullptr;
  const bool want_sums = sums.step || sums.above || sums.below;
  const bool want_level = sums.level_difference != nullptr;
  auto run = [&]<bool kGradX, bool kSums, bool kLevelSum>() {
    backward_impl<T, kGradX, kSums, kLevelSum>(grad_y, x, layout, grid, lower, upper, grad_x, sums);
  };
  if (want_x) {
    if (want_sums) {
      want_level ? run.template operator()<true, true, true>() : run.template operator()<true, true, false>();
    } else {
      want_level ? run.template operator()<true, false, true>() : run.template operator()<true, false, false>();
    }
  } else {
    if (want_sums) {
      want_level ? run.template operator()<false, true, true>() : run.template operator()<false, true, false>();
    } else if (want_level) {
      run.template operator()<false, false, true>();
    }
  }
}

template <typename T>
void quantize_to_integers(const T* x, const QuantLayout& layout_in, const QuantGridView<T>& grid, const T* zero_point,
                          int64_t* q) {
  const QuantLayout layout = normalized(layout_in);
  parallel_for(0, layout.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    auto integer = [&](T value, int64_t c) {
      const T r = std::min(std::max(std::nearbyint(value * grid.inv_scale[c]), grid.low[c]), grid.high[c]);
      return static_cast<int64_t>(r) + (zero_point ? static_cast<int64_t>(zero_point[c]) : 0);
    };
    auto row = [&](int64_t start, int64_t length, int64_t c) {
      for (int64_t i = 0; i < length; ++i) q[start + i] = integer(x[start + i], c);
    };
    auto run = [&](int64_t start, int64_t length, int64_t first) {
      for (int64_t i = 0; i < length; ++i) q[start + i] = integer(x[start + i], first + i);
    };
    for_each_segment(layout, begin, end, row, run);
  });
}

template <typename T>
void channel_min_max(const T* x, const QuantLayout& layout_in, double* min, double* max) {
  const QuantLayout layout = normalized(layout_in);
  const int64_t channels = layout.channels;
  const int64_t chunks = chunk_count(layout, 2);
  std::vector<double> partials(chunks * 2 * channels);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    std::fill_n(partials.begin() + chunk * 2 * channels, channels, std::numeric_limits<double>::infinity());
    std::fill_n(partials.begin() + (chunk * 2 + 1) * channels, channels, -std::numeric_limits<double>::infinity());
  }
  for_each_chunk(layout.numel(), chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    double* low = partials.data() + chunk * 2 * channels;
    double* high = low + channels;
    const T* const in = x;
    auto row = [&](int64_t start, int64_t length, int64_t c) {
      const T* xs = in + start;
      T smallest = std::numeric_limits<T>::infinity(), largest = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(min : smallest) reduction(max : largest)
      for (int64_t i = 0; i < length; ++i) {
        smallest = std::min(smallest, xs[i]);
        largest = std::max(largest, xs[i]);
      }
      low[c] = std::min(low[c], static_cast<double>(smallest));
      high[c] = std::max(high[c], static_cast<double>(largest));
    };
    auto run = [&](int64_t start, int64_t length, int64_t first) {
      for (int64_t i = 0; i < length; ++i) {
        const double value = static_cast<double>(in[start + i]);
        low[first + i] = std::min(low[first + i], value);
        high[first + i] = std::max(high[first + i], value);
      }
    };
    for_each_segment(layout, begin, end, row, run);
  });
  for (int64_t c = 0; c < channels; ++c) {
    min[c] = std::numeric_limits<double>::infinity();
    max[c] = -std::numeric_limits<double>::infinity();
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      min[c] = std::min(min[c], partials[chunk * 2 * channels + c]);
      max[c] = std::max(max[c], partials[(chunk * 2 + 1) * channels + c]);
    }
  }
}

template <typename T>
void channel_mean_abs(const T* x, const QuantLayout& layout_in, double* mean) {
  const QuantLayout layout = normalized(layout_in);
  const int64_t channels = layout.channels;
  const int64_t chunks = chunk_count(layout, 1);
  std::vector<double> partials(chunks * channels, 0.0);
  for_each_chunk(layout.numel(), chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    double* sum = partials.data() + chunk * channels;
    const T* const in = x;
    auto row = [&](int64_t start, int64_t length, int64_t c) {
      for (int64_t block = 0; block < length; block += kBlock) {
        const int64_t count = std::min(kBlock, length - block);
        const T* xs = in + start + block;
        T total = 0;
#pragma omp simd reduction(+ : total)
        for (int64_t i = 0; i < count; ++i) total += std::abs(xs[i]);
        sum[c] += total;
      }
    };
    auto run = [&](int64_t start, int64_t length, int64_t first) {
      for (int64_t i = 0; i < length; ++i) sum[first + i] += std::abs(static_cast<double>(in[start + i]));
    };
    for_each_segment(layout, begin, end, row, run);
  });
  const double per_channel = static_cast<double>(layout.outer * layout.inner);
  for (int64_t c = 0; c < channels; ++c) {
    double total = 0.0;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) total += partials[chunk * channels + c];
    mean[c] = total / per_channel;
  }
}

namespace {

// torch.quantile's "linear" rule on `values` (reordered in place).
template <typename T>
double quantile(std::vector<T>& values, double fraction) {
  const double position = fraction * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const double weight = position - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + below, values.end());
  const double low = static_cast<double>(values[below]);
  if (weight == 0.0 || below + 1 >= values.size()) return low;
  const double high = static_cast<double>(*std::min_element(values.begin() + below + 1, values.end()));
  return low + weight * (high - low);
}

}  // namespace

template <typename T>
void channel_quantile(const T* x, const QuantLayout& layout, double fraction, bool absolute, double* low,
                      double* high) {
  parallel_for(0, layout.channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> values(layout.outer * layout.inner);
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t o = 0; o < layout.outer; ++o) {
        const T* source = x + (o * layout.channels + c) * layout.inner;
        std::copy(source, source + layout.inner, values.begin() + o * layout.inner);
      }
      if (absolute) {
        for (T& value : values) value = std::abs(value);
      } else {
        low[c] = quantile(values, 1.0 - fraction);
      }
      high[c] = quantile(values, fraction);
    }
  });
}

#define QATD_INSTANTIATE_FAKE_QUANT(T)                                                                             \
  template void fake_quant_forward<T>(const T*, const QuantLayout&, const QuantGridView<T>&, T*);                 \
  template void fake_quant_backward<T>(const T*, const T*, const QuantLayout&, const QuantGridView<T>&,           \
                                       const QuantGridView<T>*, const QuantGridView<T>*, T*, const FakeQuantSums&); \
  template void quantize_to_integers<T>(const T*, const QuantLayout&, const QuantGridView<T>&, const T*, int64_t*); \
  template void channel_min_max<T>(const T*, const QuantLayout&, double*, double*);                               \
  template void channel_mean_abs<T>(const T*, const QuantLayout&, double*);                                       \
  template void channel_quantile<T>(const T*, const QuantLayout&, double, bool, double*, double*);
QATD_INSTANTIATE_FAKE_QUANT(float)
QATD_INSTANTIATE_FAKE_QUANT(double)
#undef QATD_INSTANTIATE_FAKE_QUANT

}  // namespace qatd::kernels::cpu
