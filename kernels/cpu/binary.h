#pragma once
// Elementwise functions of two operands with broadcasting (a stride of 0 repeats a value),
// including the fused derivative products that backward passes use.
#include <cstdint>
#include <span>

namespace qatd::kernels::cpu {

enum class BinaryOp {
  add, sub, mul, div, pow, maximum, minimum,
  // Derivative products: a is the forward input (or output, as named), b the upstream gradient.
  gelu_backward,       // b * gelu'(a)
  gelu_tanh_backward,  // b * gelu_tanh'(a)
  sigmoid_backward,    // b * a * (1 - a), a = sigmoid output
  tanh_backward,       // b * (1 - a^2), a = tanh output
  relu_backward,       // a > 0 ? b : 0
  erf_backward,        // b * 2/sqrt(pi) * exp(-a^2)
};

enum class CompareOp { eq, ne, lt, le, gt, ge };

// out = op(a, b). Float ops for float and double; add, sub, mul, maximum, minimum also for
// int32_t and int64_t.
template <typename T>
void binary(BinaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const T* a,
            std::span<const int64_t> a_strides, const T* b, std::span<const int64_t> b_strides);

// out = op(a, b) as bool, for every numeric T.
template <typename T>
void compare(CompareOp op, std::span<const int64_t> shape, bool* out, std::span<const int64_t> out_strides,
             const T* a, std::span<const int64_t> a_strides, const T* b, std::span<const int64_t> b_strides);

// out = condition ? a : b.
template <typename T>
void where(std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const bool* condition,
           std::span<const int64_t> condition_strides, const T* a, std::span<const int64_t> a_strides, const T* b,
           std::span<const int64_t> b_strides);

}  // namespace qatd::kernels::cpu
