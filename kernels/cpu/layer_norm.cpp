#include "kernels/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// Columns of a [outer, size, inner] buffer handled together when inner > 1: wide enough for
// long vector loops, small enough that a tile of every channel stays in L2 across the passes.
constexpr int64_t kColumnTile = 256;

// Chunks of the backward pass: a constant, not the thread count, so that the partial sums (and the
// result) are the same for any number of threads; enough to keep 8 threads busy.
constexpr int64_t kMaxChunks = 8;

// Splits [0, count) into `chunks` fixed contiguous pieces and runs body(chunk, begin, end) for
// each, in parallel. The partition depends only on count and chunks, so per-chunk partial sums
// are reduced in a fixed order afterwards (the result does not depend on thread timing).
template <typename Body>
void for_each_chunk(int64_t count, int64_t chunks, Body&& body) {
  parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk) {
      body(chunk, count * chunk / chunks, count * (chunk + 1) / chunks);
    }
  });
}

// Weight and bias with the identity standing in for a missing one, so the loops never branch.
template <typename T>
struct Affine {
  std::vector<T> ones, zeros;
  const T* weight;
  const T* bias;
  Affine(const T* w, const T* b, int64_t size) {
    if (!w) ones.assign(size, T(1));
    if (!b) zeros.assign(size, T(0));
    weight = w ? w : ones.data();
    bias = b ? b : zeros.data();
  }
};

template <typename T>
void forward_rows(const T* x, const Affine<T>& affine, int64_t outer, int64_t size, double eps, T* y, T* mean,
                  T* rstd) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1));
  parallel_for(0, outer, grain, [&](int64_t begin, int64_t end) {
    const T* weight = affine.weight;
    const T* bias = affine.bias;
    for (int64_t o = begin; o < end; ++o) {
      const T* row = x + o * size;
      T* out = y + o * size;
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < size; ++i) sum += static_cast<double>(row[i]);
      const double mu = sum / static_cast<double>(size);
      double squares = 0.0;
#pragma omp simd reduction(+ : squares)
      for (int64_t i = 0; i < size; ++i) {
        double d = static_cast<double>(row[i]) - mu;
        squares += d * d;
      }
      const double r = 1.0 / std::sqrt(squares / static_cast<double>(size) + eps);
      const T m = static_cast<T>(mu), s = static_cast<T>(r);
      mean[o] = m;
      rstd[o] = s;
#pragma omp simd
      for (int64_t i = 0; i < size; ++i) out[i] = (row[i] - m) * s * weight[i] + bias[i];
    }
  });
}

template <typename T>
void forward_columns(const T* x, const Affine<T>& affine, int64_t outer, int64_t size, int64_t inner, double eps, T* y,
                     T* mean, T* rstd) {
  const int64_t tiles = (inner + kColumnTile - 1) / kColumnTile;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size * kColumnTile, 1));
  parallel_for(0, outer * tiles, grain, [&](int64_t begin, int64_t end) {
    std::vector<double> sum(kColumnTile), squares(kColumnTile);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / tiles, j0 = (task % tiles) * kColumnTile;
      const int64_t width = std::min(kColumnTile, inner - j0);
      const T* block = x + o * size * inner + j0;
      T* out = y + o * size * inner + j0;
      T* m = mean + o * inner + j0;
      T* s = rstd + o * inner + j0;
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(squares.begin(), squares.end(), 0.0);
      for (int64_t i = 0; i < size; ++i) {
        const T* row = block + i * inner;
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) sum[j] += static_cast<double>(row[j]);
      }
      for (int64_t j = 0; j < width; ++j) sum[j] /= static_cast<double>(size);
      for (int64_t i = 0; i < size; ++i) {
        const T* row = block + i * inner;
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) {
          double d = static_cast<double>(row[j]) - sum[j];
          squares[j] += d * d;
        }
      }
      for (int64_t j = 0; j < width; ++j) {
        m[j] = static_cast<T>(sum[j]);
        s[j] = static_cast<T>(1.0 / std::sqrt(squares[j] / static_cast<double>(size) + eps));
      }
      for (int64_t i = 0; i < size; ++i) {
        const T* row = block + i * inner;
        T* out_row = out + i * inner;
        const T w = affine.weight[i], b = affine.bias[i];
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) out_row[j] = (row[j] - m[j]) * s[j] * w + b;
      }
    }
  });
}

// Per-chunk partial sums of grad_weight (sum of grad_y * x_hat) and grad_bias (sum of grad_y),
// one entry per channel, in double; chunk c owns [c * size, (c + 1) * size).
struct AffinePartials {
  std::vector<double> weight, bias;
};

// Rows whose grad_weight and grad_bias terms are summed in T before being added to the double
// partials: keeps the inner loop in T's vector width while long sums still accumulate in double.
constexpr int64_t kRowsPerFlush = 32;

template <typename T>
void backward_rows(const T* grad_y, const T* x, const T* mean, const T* rstd, const T* weight, int64_t outer,
                   int64_t size, T* grad_x, AffinePartials* partials, int64_t chunks) {
  for_each_chunk(outer, chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    // A local copy: read through the by-reference capture, the pointer would be reloaded (gathered) per lane.
    const T* const w = weight;
    double* partial_weight = partials ? partials->weight.data() + chunk * size : nullptr;
    double* partial_bias = partials ? partials->bias.data() + chunk * size : nullptr;
    std::vector<T> block_weight(partials ? size : 0, T(0)), block_bias(partials ? size : 0, T(0));
    T* const bw = block_weight.data();
    T* const bb = block_bias.data();
    for (int64_t o = begin; o < end; ++o) {
      const T* g = grad_y + o * size;
      const T* row = x + o * size;
      const T m = mean[o], r = rstd[o];
      if (grad_x) {
        double sum_g = 0.0, sum_g_xhat = 0.0;
#pragma omp simd reduction(+ : sum_g, sum_g_xhat)
        for (int64_t i = 0; i < size; ++i) {
          double gw = static_cast<double>(g[i] * w[i]);
          sum_g += gw;
          sum_g_xhat += gw * static_cast<double>((row[i] - m) * r);
        }
        const T a = static_cast<T>(sum_g / static_cast<double>(size));
        const T c = static_cast<T>(sum_g_xhat / static_cast<double>(size));
        T* dx = grad_x + o * size;
#pragma omp simd
        for (int64_t i = 0; i < size; ++i) dx[i] = r * (g[i] * w[i] - a - (row[i] - m) * r * c);
      }
      if (!partials) continue;
#pragma omp simd
      for (int64_t i = 0; i < size; ++i) {
        bw[i] += g[i] * ((row[i] - m) * r);
        bb[i] += g[i];
      }
      if ((o - begin + 1) % kRowsPerFlush == 0 || o + 1 == end) {
#pragma omp simd
        for (int64_t i = 0; i < size; ++i) {
          partial_weight[i] += static_cast<double>(bw[i]);
          partial_bias[i] += static_cast<double>(bb[i]);
          bw[i] = T(0);
          bb[i] = T(0);
        }
      }
    }
  });
}

template <typename T>
void backward_columns(const T* grad_y, const T* x, const T* mean, const T* rstd, const T* weight, int64_t outer,
                      int64_t size, int64_t inner, T* grad_x, AffinePartials* partials, int64_t chunks) {
  const int64_t tiles = (inner + kColumnTile - 1) / kColumnTile;
  for_each_chunk(outer * tiles, chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    std::vector<double> sum_g(kColumnTile), sum_g_xhat(kColumnTile);
    double* partial_weight = partials ? partials->weight.data() + chunk * size : nullptr;
    double* partial_bias = partials ? partials->bias.data() + chunk * size : nullptr;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / tiles, j0 = (task % tiles) * kColumnTile;
      const int64_t width = std::min(kColumnTile, inner - j0);
      const int64_t base = o * size * inner + j0;
      const T* m = mean + o * inner + j0;
      const T* r = rstd + o * inner + j0;
      std::fill(sum_g.begin(), sum_g.end(), 0.0);
      std::fill(sum_g_xhat.begin(), sum_g_xhat.end(), 0.0);
      for (int64_t i = 0; i < size; ++i) {
        const T* g = grad_y + base + i * inner;
        const T* row = x + base + i * inner;
        const T w = weight[i];
        double dot = 0.0, total = 0.0;
#pragma omp simd reduction(+ : dot, total)
        for (int64_t j = 0; j < width; ++j) {
          const T xhat = (row[j] - m[j]) * r[j];
          sum_g[j] += static_cast<double>(g[j] * w);
          sum_g_xhat[j] += static_cast<double>(g[j] * w * xhat);
          dot += static_cast<double>(g[j] * xhat);
          total += static_cast<double>(g[j]);
        }
        if (partials) {
          partial_weight[i] += dot;
          partial_bias[i] += total;
        }
      }
      if (!grad_x) continue;
      for (int64_t j = 0; j < width; ++j) {
        sum_g[j] /= static_cast<double>(size);
        sum_g_xhat[j] /= static_cast<double>(size);
      }
      for (int64_t i = 0; i < size; ++i) {
        const T* g = grad_y + base + i * inner;
        const T* row = x + base + i * inner;
        T* dx = grad_x + base + i * inner;
        const T w = weight[i];
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) {
          const T xhat = (row[j] - m[j]) * r[j];
          dx[j] = r[j] * (g[j] * w - static_cast<T>(sum_g[j]) - xhat * static_cast<T>(sum_g_xhat[j]));
        }
      }
    }
  });
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, int64_t outer, int64_t size, int64_t inner,
                        double eps, T* y, T* mean, T* rstd) {
  if (outer == 0 || size == 0 || inner == 0) return;
  Affine<T> affine(weight, bias, size);
  if (inner == 1) {
    forward_rows(x, affine, outer, size, eps, y, mean, rstd);
  } else {
    forward_columns(x, affine, outer, size, inner, eps, y, mean, rstd);
  }
}

template <typename T>
void layer_norm_backward(const T* grad_y, const T* x, const T* mean, const T* rstd, const T* weight, int64_t outer,
                         int64_t size, int64_t inner, T* grad_x, T* grad_weight, T* grad_bias) {
  if (grad_weight) std::fill(grad_weight, grad_weight + size, T(0));
  if (grad_bias) std::fill(grad_bias, grad_bias + size, T(0));
  if (outer == 0 || size == 0 || inner == 0) return;
  Affine<T> affine(weight, nullptr, size);
  const int64_t tasks = inner == 1 ? outer : outer * ((inner + kColumnTile - 1) / kColumnTile);
  const int64_t work_per_task = size * std::min(inner, kColumnTile);
  const int64_t chunks =
      std::clamp<int64_t>(tasks * work_per_task / kElementwiseGrain, 1, std::min<int64_t>(kMaxChunks, tasks));
  AffinePartials partials;
  const bool affine_grad = grad_weight || grad_bias;
  if (affine_grad) {
    partials.weight.assign(chunks * size, 0.0);
    partials.bias.assign(chunks * size, 0.0);
  }
  AffinePartials* sink = affine_grad ? &partials : nullptr;
  if (inner == 1) {
    backward_rows(grad_y, x, mean, rstd, affine.weight, outer, size, grad_x, sink, chunks);
  } else {
    backward_columns(grad_y, x, mean, rstd, affine.weight, outer, size, inner, grad_x, sink, chunks);
  }
  if (!affine_grad) return;
  for (int64_t i = 0; i < size; ++i) {
    double weight_sum = 0.0, bias_sum = 0.0;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      weight_sum += partials.weight[chunk * size + i];
      bias_sum += partials.bias[chunk * size + i];
    }
    if (grad_weight) grad_weight[i] = static_cast<T>(weight_sum);
    if (grad_bias) grad_bias[i] = static_cast<T>(bias_sum);
  }
}

#define QATD_INSTANTIATE_LAYER_NORM(T)                                                                              \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, double, T*, T*, T*); \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                       T*, T*, T*);
QATD_INSTANTIATE_LAYER_NORM(float)
QATD_INSTANTIATE_LAYER_NORM(double)
#undef QATD_INSTANTIATE_LAYER_NORM

}  // namespace qatd::kernels::cpu
