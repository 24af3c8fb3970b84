#pragma once
// Reductions over the middle axis of a contiguous [outer, size, inner] buffer, writing
// [outer, inner]. Any reduction over a set of dims is brought to this form by the caller.
// Floating sums accumulate in double, as PyTorch's CPU accumulation type does.
#include <cstdint>

namespace qatd::kernels::cpu {

enum class ReduceOp { sum, mean, max, min, norm1, norm2, norm_inf, norm_p, prod };

template <typename T>
void reduce(ReduceOp op, const T* in, int64_t outer, int64_t size, int64_t inner, T* out, double p = 2.0);

// Two-pass variance with `correction` subtracted from the count (1: unbiased).
template <typename T>
void variance(const T* in, int64_t outer, int64_t size, int64_t inner, double correction, T* out);

// Index of the first maximum (or minimum) along the middle axis; NaN counts as the maximum.
template <typename T>
void arg_extremum(bool maximum, const T* in, int64_t outer, int64_t size, int64_t inner, int64_t* out);

// Inclusive prefix sums along the middle axis, from the end when `reverse`.
template <typename T>
void cumsum(const T* in, int64_t outer, int64_t size, int64_t inner, T* out, bool reverse);

}  // namespace qatd::kernels::cpu
