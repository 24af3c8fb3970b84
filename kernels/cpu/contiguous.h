#pragma once
// Elementwise work on contiguous buffers through Eigen arrays. Eigen vectorizes exp, log, tanh,
// erf, sin, cos and the logistic function; the scalar libm calls of the strided loops
// (loops.h) cost about ten times more for them.
#include <algorithm>
#include <cstdint>
#include <span>

#include <Eigen/Core>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Whether `strides` are the row-major contiguous strides of `shape` (size-1 dims ignored).
inline bool is_contiguous_layout(std::span<const int64_t> shape, std::span<const int64_t> strides) {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

inline int64_t element_count(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t size : shape) count *= size;
  return count;
}

// body(begin, end) over thread-sized chunks of [0, count) that start at multiples of 64 bytes.
// Eigen computes the elements before the first 64-byte boundary of a destination with scalar code
// (libm's exp, say, instead of its vectorized one), so chunks starting elsewhere would make the
// results depend on the thread count.
template <typename T, typename Body>
void for_each_aligned_chunk(int64_t count, Body&& body) {
  constexpr int64_t kUnit = 64 / sizeof(T);
  parallel_for(0, (count + kUnit - 1) / kUnit, kElementwiseGrain / kUnit,
               [&](int64_t begin, int64_t end) { body(begin * kUnit, std::min(count, end * kUnit)); });
}

// assign(out_chunk, in_chunk...) over thread-sized chunks of `count` contiguous elements.
template <typename T, typename Assign>
void contiguous_unary(int64_t count, T* out, const T* in, Assign&& assign) {
  for_each_aligned_chunk<T>(count, [&](int64_t begin, int64_t end) {
    ArrayMap<T> y(out + begin, end - begin);
    assign(y, ConstArrayMap<T>(in + begin, end - begin));
  });
}

template <typename T, typename Assign>
void contiguous_binary(int64_t count, T* out, const T* a, const T* b, Assign&& assign) {
  for_each_aligned_chunk<T>(count, [&](int64_t begin, int64_t end) {
    ArrayMap<T> y(out + begin, end - begin);
    assign(y, ConstArrayMap<T>(a + begin, end - begin), ConstArrayMap<T>(b + begin, end - begin));
  });
}

}  // namespace qatd::kernels::cpu
