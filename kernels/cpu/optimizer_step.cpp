#include "kernels/cpu/optimizer_step.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// Adam's elements go through a small stack tile so that the square roots run as one vector loop:
// std::sqrt keeps the compiler from vectorizing a loop (it may set errno), and Eigen's packet
// sqrt is an approximation under EIGEN_FAST_MATH. The tile also keeps the parameter's decay and
// its update in separate loops, which stops the compiler from contracting them into one FMA that
// PyTorch does not do (it applies them as two ops).
constexpr int64_t kTile = 512;

void sqrt_in_place(float* x, int64_t count) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, _mm512_sqrt_ps(_mm512_loadu_ps(x + i)));
#elif defined(__AVX__)
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
  for (; i < count; ++i) x[i] = std::sqrt(x[i]);
}

void sqrt_in_place(double* x, int64_t count) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 8 <= count; i += 8) _mm512_storeu_pd(x + i, _mm512_sqrt_pd(_mm512_loadu_pd(x + i)));
#elif defined(__AVX__)
  for (; i + 4 <= count; i += 4) _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
#endif
  for (; i < count; ++i) x[i] = std::sqrt(x[i]);
}

// torch.maximum: NaN wins.
template <typename T>
T nan_maximum(T a, T b) {
  return (std::isnan(a) || a >= b) ? a : b;
}

// Partial results over fixed blocks, combined in order: the same value for any thread count.
constexpr int64_t kReduceBlock = 8192;

template <typename BlockFn>
std::vector<double> block_partials(int64_t count, BlockFn&& block) {
  int64_t blocks = (count + kReduceBlock - 1) / kReduceBlock;
  std::vector<double> partials(static_cast<size_t>(blocks), 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, kElementwiseGrain / kReduceBlock), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t first = b * kReduceBlock;
      partials[static_cast<size_t>(b)] = block(first, std::min(count, first + kReduceBlock));
    }
  });
  return partials;
}

// SGD's scalars, rounded to T as PyTorch rounds a Python scalar for a float tensor.
template <typename T>
struct SgdConstants {
  T weight_decay, momentum, keep, negative_lr;
  bool decay, maximize;
};

// Each line mirrors one op of torch.optim.sgd._single_tensor_sgd: grad.add(param, alpha=wd),
// buf.add_(grad, alpha=1-dampening) and param.add_(grad, alpha=-lr) are fused multiply-adds in
// PyTorch's CPU kernels. The momentum mode is a template argument and everything else comes by
// value, so that each variant's loop vectorizes.
template <typename T, bool Momentum, bool Nesterov, bool Initialize>
void sgd_range(T* __restrict param, const T* __restrict grad, T* __restrict buffer, int64_t count,
               const SgdConstants<T> c) {
  for (int64_t i = 0; i < count; ++i) {
    const T x = param[i];
    T g = grad[i];
    if (c.maximize) g = -g;
    if (c.decay) g = std::fma(x, c.weight_decay, g);
    if constexpr (Momentum) {
      T b;
      if constexpr (Initialize) {
        b = g;
      } else {
        b = std::fma(g, c.keep, buffer[i] * c.momentum);
      }
      buffer[i] = b;
      if constexpr (Nesterov) {
        g = std::fma(b, c.momentum, g);
      } else {
        g = b;
      }
    }
    param[i] = std::fma(g, c.negative_lr, x);
  }
}

template <typename T, bool Momentum, bool Nesterov, bool Initialize>
void sgd_dispatch(T* param, const T* grad, T* buffer, int64_t count, const SgdConstants<T>& c) {
  parallel_for(0, count, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    sgd_range<T, Momentum, Nesterov, Initialize>(param + begin, grad + begin, Momentum ? buffer + begin : nullptr,
                                                 end - begin, c);
  });
}

template <typename T>
struct AdamConstants {
  T negative_step_size, bias_correction2_sqrt, eps, lerp_coefficient, beta2, square_weight, weight_decay,
      decay_factor;
  bool small_weight, decay, decoupled, amsgrad, maximize;
};

// Mirrors torch.optim.adam._single_tensor_adam (its non-capturable branch) op by op:
//   exp_avg.lerp_(grad, 1 - beta1)             fma(w, grad - m, m)  (w < 0.5; else fma(w - 1, grad - m, grad))
//   exp_avg_sq.mul_(beta2).addcmul_(g, g, c)    fma(c * g, g, v * beta2)
//   denom = sqrt(v) / sqrt(bias_correction2) + eps
//   param.addcdiv_(exp_avg, denom, -step_size)  param + (-step_size * m) / denom
// `count` is at most kTile.
template <typename T>
void adam_tile(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v, T* __restrict most,
               int64_t count, const AdamConstants<T> c) {
  T root[kTile];
  for (int64_t i = 0; i < count; ++i) {
    T g = c.maximize ? -grad[i] : grad[i];
    if (c.decay) {
      if (c.decoupled) {
        p[i] = p[i] * c.decay_factor;
      } else {
        g = std::fma(p[i], c.weight_decay, g);
      }
    }
    const T difference = g - m[i];
    m[i] = std::fma(c.lerp_coefficient, difference, c.small_weight ? m[i] : g);
    const T second = std::fma(c.square_weight * g, g, v[i] * c.beta2);
    v[i] = second;
    root[i] = second;
  }
  if (c.amsgrad) {
    for (int64_t i = 0; i < count; ++i) {
      most[i] = nan_maximum(most[i], v[i]);
      root[i] = most[i];
    }
  }
  sqrt_in_place(root, count);
  for (int64_t i = 0; i < count; ++i) {
    const T denominator = root[i] / c.bias_correction2_sqrt + c.eps;
    p[i] = p[i] + (c.negative_step_size * m[i]) / denominator;
  }
}

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t count, const SgdStepSettings& settings) {
  const SgdConstants<T> c{
      .weight_decay = static_cast<T>(settings.weight_decay),
      .momentum = static_cast<T>(settings.momentum),
      .keep = static_cast<T>(1.0 - settings.dampening),
      .negative_lr = static_cast<T>(-settings.lr),
      .decay = settings.weight_decay != 0.0,
      .maximize = settings.maximize,
  };
  if (settings.momentum == 0.0) return sgd_dispatch<T, false, false, false>(param, grad, nullptr, count, c);
  if (settings.nesterov) {
    if (settings.initialize_buffer) return sgd_dispatch<T, true, true, true>(param, grad, momentum_buffer, count, c);
    return sgd_dispatch<T, true, true, false>(param, grad, momentum_buffer, count, c);
  }
  if (settings.initialize_buffer) return sgd_dispatch<T, true, false, true>(param, grad, momentum_buffer, count, c);
  sgd_dispatch<T, true, false, false>(param, grad, momentum_buffer, count, c);
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
               const AdamStepSettings& settings) {
  // The bias corrections in double, as Python computes them from the step count.
  const double step = static_cast<double>(settings.step);
  const double bias_correction1 = 1.0 - std::pow(settings.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(settings.beta2, step);
  const T weight = static_cast<T>(1.0 - settings.beta1);
  const bool small_weight = std::abs(weight) < T(0.5);
  const AdamConstants<T> constants{
      .negative_step_size = static_cast<T>(-(settings.lr / bias_correction1)),
      .bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2)),
      .eps = static_cast<T>(settings.eps),
      .lerp_coefficient = small_weight ? weight : weight - T(1),
      .beta2 = static_cast<T>(settings.beta2),
      .square_weight = static_cast<T>(1.0 - settings.beta2),
      .weight_decay = static_cast<T>(settings.weight_decay),
      .decay_factor = static_cast<T>(1.0 - settings.lr * settings.weight_decay),
      .small_weight = small_weight,
      .decay = settings.weight_decay != 0.0,
      .decoupled = settings.decoupled_weight_decay,
      .amsgrad = settings.amsgrad,
      .maximize = settings.maximize,
  };
  parallel_for(0, count, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; tile += kTile) {
      adam_tile(param + tile, grad + tile, exp_avg + tile, exp_avg_sq + tile,
                constants.amsgrad ? max_exp_avg_sq + tile : nullptr, std::min(kTile, end - tile), constants);
    }
  });
}

namespace {

// Block reductions take their pointer by value: read through a lambda's captured reference, the
// pointer would be reloaded for every element (the vectorizer then emits gathers).
template <typename T>
double block_sum_abs_power(const T* __restrict data, int64_t count, double p) {
  double sum = 0.0;
  if (p == 2.0) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < count; ++i) sum += static_cast<double>(data[i]) * static_cast<double>(data[i]);
  } else if (p == 1.0) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < count; ++i) sum += std::abs(static_cast<double>(data[i]));
  } else {
    for (int64_t i = 0; i < count; ++i) sum += std::pow(std::abs(static_cast<double>(data[i])), p);
  }
  return sum;
}

template <typename T>
double block_max_abs(const T* __restrict data, int64_t count) {
  T largest = 0;
  int nan_seen = 0;
#pragma omp simd reduction(max : largest) reduction(| : nan_seen)
  for (int64_t i = 0; i < count; ++i) {
    T magnitude = std::abs(data[i]);
    nan_seen |= static_cast<int>(magnitude != magnitude);
    largest = magnitude > largest ? magnitude : largest;
  }
  return nan_seen ? static_cast<double>(NAN) : static_cast<double>(largest);
}

}  // namespace

template <typename T>
double sum_abs_power(const T* data, int64_t count, double p) {
  std::vector<double> partials = block_partials(
      count, [&](int64_t begin, int64_t end) { return block_sum_abs_power(data + begin, end - begin, p); });
  double total = 0.0;
  for (double partial : partials) total += partial;
  return total;
}

template <typename T>
double max_abs(const T* data, int64_t count) {
  std::vector<double> partials =
      block_partials(count, [&](int64_t begin, int64_t end) { return block_max_abs(data + begin, end - begin); });
  double largest = 0.0;
  for (double partial : partials) largest = std::isnan(partial) ? partial : std::max(largest, partial);
  return largest;
}

template <typename T>
void scale_in_place(T* data, int64_t count, double factor) {
  const T scale = static_cast<T>(factor);
  parallel_for(0, count, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    T* __restrict values = data + begin;
    for (int64_t i = 0; i < end - begin; ++i) values[i] = values[i] * scale;
  });
}

template <typename T>
void clamp_abs_in_place(T* data, int64_t count, double limit) {
  const T high = static_cast<T>(limit);
  const T low = -high;
  parallel_for(0, count, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    T* __restrict values = data + begin;
    for (int64_t i = 0; i < end - begin; ++i) {
      T x = values[i];
      values[i] = x < low ? low : (x > high ? high : x);  // NaN fails both tests and stays
    }
  });
}

#define QATD_INSTANTIATE_OPTIMIZER_STEP(T)                                                           \
  template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdStepSettings&);                      \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const AdamStepSettings&);            \
  template double sum_abs_power<T>(const T*, int64_t, double);                                       \
  template double max_abs<T>(const T*, int64_t);                                                     \
  template void scale_in_place<T>(T*, int64_t, double);                                              \
  template void clamp_abs_in_place<T>(T*, int64_t, double);
QATD_INSTANTIATE_OPTIMIZER_STEP(float)
QATD_INSTANTIATE_OPTIMIZER_STEP(double)
#undef QATD_INSTANTIATE_OPTIMIZER_STEP

}  // namespace qatd::kernels::cpu
