#include "kernels/cpu/reduce.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

template <typename T>
using Accumulator = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <typename T>
struct Reducer {
  using Acc = Accumulator<T>;
  ReduceOp op;
  double p;

  Acc init() const {
    switch (op) {
      case ReduceOp::max: return std::numeric_limits<Acc>::lowest();
      case ReduceOp::min: return std::numeric_limits<Acc>::max();
      case ReduceOp::prod: return Acc(1);
      default: return Acc(0);
    }
  }
  Acc combine(Acc acc, T value) const {
    Acc v = static_cast<Acc>(value);
    switch (op) {
      case ReduceOp::sum:
      case ReduceOp::mean: return acc + v;
      case ReduceOp::prod: return acc * v;
      case ReduceOp::max:
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(v) || std::isnan(acc)) return std::numeric_limits<Acc>::quiet_NaN();
        }
        return v > acc ? v : acc;
      case ReduceOp::min:
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(v) || std::isnan(acc)) return std::numeric_limits<Acc>::quiet_NaN();
        }
        return v < acc ? v : acc;
      case ReduceOp::norm1: return acc + (v < 0 ? -v : v);
      case ReduceOp::norm2: return acc + v * v;
      case ReduceOp::norm_inf: {
        Acc magnitude = v < 0 ? -v : v;
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(magnitude)) return magnitude;
        }
        return magnitude > acc ? magnitude : acc;
      }
      case ReduceOp::norm_p:
        if constexpr (std::is_floating_point_v<T>) return acc + std::pow(std::abs(v), p);
        return acc;
    }
    return acc;
  }
  T finish(Acc acc, int64_t size) const {
    switch (op) {
      case ReduceOp::mean: return static_cast<T>(acc / static_cast<Acc>(size > 0 ? size : 1));
      case ReduceOp::norm2:
        if constexpr (std::is_floating_point_v<T>) return static_cast<T>(std::sqrt(acc));
        return static_cast<T>(acc);
      case ReduceOp::norm_p:
        if constexpr (std::is_floating_point_v<T>) return static_cast<T>(std::pow(acc, 1.0 / p));
        return static_cast<T>(acc);
      default: return static_cast<T>(acc);
    }
  }
};

}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* in, int64_t outer, int64_t size, int64_t inner, T* out, double p) {
  Reducer<T> reducer{op, p};
  using Acc = typename Reducer<T>::Acc;
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t o = begin; o < end; ++o) {
                     const T* row = in + o * size;
                     Acc acc = reducer.init();
                     for (int64_t i = 0; i < size; ++i) acc = reducer.combine(acc, row[i]);
                     out[o] = reducer.finish(acc, size);
                   }
                 });
    return;
  }
  // Columns: walk rows in memory order, keeping one accumulator per column.
  int64_t columns = outer * inner;
  parallel_for(0, columns, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1)),
               [&](int64_t begin, int64_t end) {
                 std::vector<Acc> acc;
                 int64_t c = begin;
                 while (c < end) {
                   int64_t o = c / inner;
                   int64_t j0 = c % inner;
                   int64_t j1 = std::min(inner, j0 + (end - c));
                   acc.assign(j1 - j0, reducer.init());
                   for (int64_t i = 0; i < size; ++i) {
                     const T* row = in + (o * size + i) * inner;
                     for (int64_t j = j0; j < j1; ++j) acc[j - j0] = reducer.combine(acc[j - j0], row[j]);
                   }
                   for (int64_t j = j0; j < j1; ++j) out[o * inner + j] = reducer.finish(acc[j - j0], size);
                   c += j1 - j0;
                 }
               });
}

template <typename T>
void variance(const T* in, int64_t outer, int64_t size, int64_t inner, double correction, T* out) {
  double divisor = std::max(0.0, static_cast<double>(size) - correction);
  parallel_for(0, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t c = begin; c < end; ++c) {
                   const T* base = in + (c / inner) * size * inner + c % inner;
                   double mean = 0.0;
                   for (int64_t i = 0; i < size; ++i) mean += static_cast<double>(base[i * inner]);
                   mean /= static_cast<double>(size);
                   double squares = 0.0;
                   for (int64_t i = 0; i < size; ++i) {
                     double d = static_cast<double>(base[i * inner]) - mean;
                     squares += d * d;
                   }
                   out[c] = static_cast<T>(squares / divisor);
                 }
               });
}

template <typename T>
void arg_extremum(bool maximum, const T* in, int64_t outer, int64_t size, int64_t inner, int64_t* out) {
  parallel_for(0, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t c = begin; c < end; ++c) {
                   const T* base = in + (c / inner) * size * inner + c % inner;
                   int64_t best = 0;
                   T best_value = base[0];
                   for (int64_t i = 1; i < size; ++i) {
                     T v = base[i * inner];
                     if constexpr (std::is_floating_point_v<T>) {
                       if (std::isnan(best_value)) break;
                       if (std::isnan(v)) {
                         best = i;
                         best_value = v;
                         break;
                       }
                     }
                     if (maximum ? v > best_value : v < best_value) {
                       best = i;
                       best_value = v;
                     }
                   }
                   out[c] = best;
                 }
               });
}

template <typename T>
void cumsum(const T* in, int64_t outer, int64_t size, int64_t inner, T* out, bool reverse) {
  using Acc = Accumulator<T>;
  parallel_for(0, outer * inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t c = begin; c < end; ++c) {
                   int64_t base = (c / inner) * size * inner + c % inner;
                   Acc acc = 0;
                   for (int64_t k = 0; k < size; ++k) {
                     int64_t i = reverse ? size - 1 - k : k;
                     acc += static_cast<Acc>(in[base + i * inner]);
                     out[base + i * inner] = static_cast<T>(acc);
                   }
                 }
               });
}

#define QATD_INSTANTIATE_REDUCE(T)                                                             \
  template void reduce<T>(ReduceOp, const T*, int64_t, int64_t, int64_t, T*, double);          \
  template void arg_extremum<T>(bool, const T*, int64_t, int64_t, int64_t, int64_t*);          \
  template void cumsum<T>(const T*, int64_t, int64_t, int64_t, T*, bool);
QATD_INSTANTIATE_REDUCE(float)
QATD_INSTANTIATE_REDUCE(double)
QATD_INSTANTIATE_REDUCE(int32_t)
QATD_INSTANTIATE_REDUCE(int64_t)
#undef QATD_INSTANTIATE_REDUCE
template void variance<float>(const float*, int64_t, int64_t, int64_t, double, float*);
template void variance<double>(const double*, int64_t, int64_t, int64_t, double, double*);

}  // namespace qatd::kernels::cpu
