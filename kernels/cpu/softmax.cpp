#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// Adjacent columns handled together when inner > 1 (see layer_norm.cpp for the same trade-off).
constexpr int64_t kColumnTile = 256;

// Eigen's array expressions give vectorized exp and log (the plain loops would call scalar expf).
template <typename T>
using Vector = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using ConstSpan = Eigen::Map<const Vector<T>>;
template <typename T>
using Span = Eigen::Map<Vector<T>>;

int64_t grain_for(int64_t work_per_task) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work_per_task, 1));
}

template <typename T>
void forward_rows(const T* x, int64_t outer, int64_t size, bool log, T* y) {
  parallel_for(0, outer, grain_for(size), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      ConstSpan<T> in(x + o * size, size);
      Span<T> out(y + o * size, size);
      const T maximum = in.maxCoeff();
      if (log) {
        const T log_total = std::log((in - maximum).exp().sum());
        out = (in - maximum) - log_total;
      } else {
        out = (in - maximum).exp();
        out *= T(1) / out.sum();
      }
    }
  });
}

template <typename T>
void forward_columns(const T* x, int64_t outer, int64_t size, int64_t inner, bool log, T* y) {
  const int64_t tiles = (inner + kColumnTile - 1) / kColumnTile;
  parallel_for(0, outer * tiles, grain_for(size * std::min(inner, kColumnTile)), [&](int64_t begin, int64_t end) {
    Vector<T> maximum(kColumnTile), total(kColumnTile);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / tiles, j0 = (task % tiles) * kColumnTile;
      const int64_t width = std::min(kColumnTile, inner - j0);
      const int64_t base = o * size * inner + j0;
      auto tile_max = maximum.head(width);
      auto tile_total = total.head(width);
      tile_max = ConstSpan<T>(x + base, width);
      for (int64_t i = 1; i < size; ++i) tile_max = tile_max.max(ConstSpan<T>(x + base + i * inner, width));
      tile_total.setZero();
      for (int64_t i = 0; i < size; ++i) {
        Span<T> out(y + base + i * inner, width);
        out = (ConstSpan<T>(x + base + i * inner, width) - tile_max).exp();
        tile_total += out;
      }
      if (log) {
        tile_total = tile_total.log();
        for (int64_t i = 0; i < size; ++i) {
          Span<T>(y + base + i * inner, width) = (ConstSpan<T>(x + base + i * inner, width) - tile_max) - tile_total;
        }
      } else {
        tile_total = tile_total.inverse();
        for (int64_t i = 0; i < size; ++i) Span<T>(y + base + i * inner, width) *= tile_total;
      }
    }
  });
}

template <typename T>
void backward_rows(const T* grad_y, const T* y, int64_t outer, int64_t size, bool log, T* grad_x) {
  parallel_for(0, outer, grain_for(size), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      ConstSpan<T> g(grad_y + o * size, size), out(y + o * size, size);
      Span<T> dx(grad_x + o * size, size);
      if (log) {
        dx = g - out.exp() * g.sum();
      } else {
        dx = out * (g - (g * out).sum());
      }
    }
  });
}

template <typename T>
void backward_columns(const T* grad_y, const T* y, int64_t outer, int64_t size, int64_t inner, bool log, T* grad_x) {
  const int64_t tiles = (inner + kColumnTile - 1) / kColumnTile;
  parallel_for(0, outer * tiles, grain_for(size * std::min(inner, kColumnTile)), [&](int64_t begin, int64_t end) {
    Vector<T> total(kColumnTile);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / tiles, j0 = (task % tiles) * kColumnTile;
      const int64_t width = std::min(kColumnTile, inner - j0);
      const int64_t base = o * size * inner + j0;
      auto tile_total = total.head(width);
      tile_total.setZero();
      for (int64_t i = 0; i < size; ++i) {
        ConstSpan<T> g(grad_y + base + i * inner, width);
        if (log) {
          tile_total += g;
        } else {
          tile_total += g * ConstSpan<T>(y + base + i * inner, width);
        }
      }
      for (int64_t i = 0; i < size; ++i) {
        ConstSpan<T> g(grad_y + base + i * inner, width), out(y + base + i * inner, width);
        Span<T> dx(grad_x + base + i * inner, width);
        if (log) {
          dx = g - out.exp() * tile_total;
        } else {
          dx = out * (g - tile_total);
        }
      }
    }
  });
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, int64_t outer, int64_t size, int64_t inner, bool log, T* y) {
  if (outer == 0 || size == 0 || inner == 0) return;
  if (inner == 1) {
    forward_rows(x, outer, size, log, y);
  } else {
    forward_columns(x, outer, size, inner, log, y);
  }
}

template <typename T>
void softmax_backward(const T* grad_y, const T* y, int64_t outer, int64_t size, int64_t inner, bool log, T* grad_x) {
  if (outer == 0 || size == 0 || inner == 0) return;
  if (inner == 1) {
    backward_rows(grad_y, y, outer, size, log, grad_x);
  } else {
    backward_columns(grad_y, y, outer, size, inner, log, grad_x);
  }
}

template void softmax_forward<float>(const float*, int64_t, int64_t, int64_t, bool, float*);
template void softmax_forward<double>(const double*, int64_t, int64_t, int64_t, bool, double*);
template void softmax_backward<float>(const float*, const float*, int64_t, int64_t, int64_t, bool, float*);
template void softmax_backward<double>(const double*, const double*, int64_t, int64_t, int64_t, bool, double*);

}  // namespace qatd::kernels::cpu
