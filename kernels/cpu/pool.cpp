#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

int64_t plane_grain(const PoolShape& s) {
  int64_t work = s.out_height * s.out_width * s.kernel_height * s.kernel_width + s.in_height * s.in_width;
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work, 1));
}

// An average-pooling window: the input cells it covers and the divisor PyTorch uses for it.
struct AverageWindow {
  int64_t h_begin, h_end, w_begin, w_end;
  int64_t divisor;
  bool empty() const { return h_begin >= h_end || w_begin >= w_end; }
};

AverageWindow average_window(const PoolShape& s, bool count_include_pad, int64_t oh, int64_t ow) {
  int64_t h_begin = oh * s.stride_height - s.pad_height, w_begin = ow * s.stride_width - s.pad_width;
  // Clipped to the padded input first: that area is the divisor when padding counts.
  int64_t h_end = std::min(h_begin + s.kernel_height, s.in_height + s.pad_height);
  int64_t w_end = std::min(w_begin + s.kernel_width, s.in_width + s.pad_width);
  int64_t padded_area = (h_end - h_begin) * (w_end - w_begin);
  h_begin = std::max<int64_t>(h_begin, 0);
  w_begin = std::max<int64_t>(w_begin, 0);
  h_end = std::min(h_end, s.in_height);
  w_end = std::min(w_end, s.in_width);
  int64_t divisor = count_include_pad ? padded_area : (h_end - h_begin) * (w_end - w_begin);
  return {h_begin, h_end, w_begin, w_end, divisor};
}

}  // namespace

template <typename T>
void max_pool2d_forward(const PoolShape& s, const T* input, T* output, int64_t* indices) {
  const int64_t plane = s.in_height * s.in_width, positions = s.out_height * s.out_width;
  parallel_for(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const T* in = input + c * plane;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        int64_t h_begin = oh * s.stride_height - s.pad_height;
        const int64_t h_end = std::min(h_begin + (s.kernel_height - 1) * s.dilation_height + 1, s.in_height);
        while (h_begin < 0) h_begin += s.dilation_height;
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          int64_t w_begin = ow * s.stride_width - s.pad_width;
          const int64_t w_end = std::min(w_begin + (s.kernel_width - 1) * s.dilation_width + 1, s.in_width);
          while (w_begin < 0) w_begin += s.dilation_width;
          int64_t best_index = h_begin * s.in_width + w_begin;
          T best = -std::numeric_limits<T>::infinity();
          for (int64_t ih = h_begin; ih < h_end; ih += s.dilation_height) {
            for (int64_t iw = w_begin; iw < w_end; iw += s.dilation_width) {
              const T value = in[ih * s.in_width + iw];
              if (value > best || std::isnan(value)) {
                best = value;
                best_index = ih * s.in_width + iw;
              }
            }
          }
          output[c * positions + oh * s.out_width + ow] = best;
          indices[c * positions + oh * s.out_width + ow] = best_index;
        }
      }
    }
  });
}

template <typename T>
void max_pool2d_backward(const PoolShape& s, const T* grad_output, const int64_t* indices, T* grad_input) {
  const int64_t plane = s.in_height * s.in_width, positions = s.out_height * s.out_width;
  parallel_for(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      T* grad = grad_input + c * plane;
      std::fill(grad, grad + plane, T(0));
      for (int64_t o = 0; o < positions; ++o) {
        // A window with no tap inside the input (impossible for validated sizes) has nowhere to send its gradient.
        const int64_t index = indices[c * positions + o];
        if (index >= 0 && index < plane) grad[index] += grad_output[c * positions + o];
      }
    }
  });
}

template <typename T>
void avg_pool2d_forward(const PoolShape& s, bool count_include_pad, const T* input, T* output) {
  const int64_t plane = s.in_height * s.in_width, positions = s.out_height * s.out_width;
  parallel_for(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const T* in = input + c * plane;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const AverageWindow window = average_window(s, count_include_pad, oh, ow);
          T& out = output[c * positions + oh * s.out_width + ow];
          if (window.empty()) {
            out = T(0);
            continue;
          }
          double total = 0.0;
          for (int64_t ih = window.h_begin; ih < window.h_end; ++ih) {
            for (int64_t iw = window.w_begin; iw < window.w_end; ++iw) total += in[ih * s.in_width + iw];
          }
          out = static_cast<T>(total / static_cast<double>(window.divisor));
        }
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const PoolShape& s, bool count_include_pad, const T* grad_output, T* grad_input) {
  const int64_t plane = s.in_height * s.in_width, positions = s.out_height * s.out_width;
  parallel_for(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      T* grad = grad_input + c * plane;
      std::fill(grad, grad + plane, T(0));
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const AverageWindow window = average_window(s, count_include_pad, oh, ow);
          if (window.empty()) continue;
          const T share = grad_output[c * positions + oh * s.out_width + ow] / static_cast<T>(window.divisor);
          for (int64_t ih = window.h_begin; ih < window.h_end; ++ih) {
            for (int64_t iw = window.w_begin; iw < window.w_end; ++iw) grad[ih * s.in_width + iw] += share;
          }
        }
      }
    }
  });
}

#define QATD_INSTANTIATE_POOL(T)                                                        \
  template void max_pool2d_forward<T>(const PoolShape&, const T*, T*, int64_t*);        \
  template void max_pool2d_backward<T>(const PoolShape&, const T*, const int64_t*, T*); \
  template void avg_pool2d_forward<T>(const PoolShape&, bool, const T*, T*);            \
  template void avg_pool2d_backward<T>(const PoolShape&, bool, const T*, T*);
QATD_INSTANTIATE_POOL(float)
QATD_INSTANTIATE_POOL(double)
#undef QATD_INSTANTIATE_POOL

}  // namespace qatd::kernels::cpu
