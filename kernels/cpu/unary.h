#pragma once
// Elementwise functions of one operand (some with scalar parameters alpha, beta).
#include <cstdint>
#include <span>

namespace qatd::kernels::cpu {

enum class UnaryOp {
  neg, abs, sign, exp, log, log1p, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, gelu, gelu_tanh, erf, reciprocal,
  square, floor, ceil, round, trunc,  // round: half to even, as torch.round
  add_scalar,   // x + alpha
  mul_scalar,   // x * alpha
  div_scalar,   // x / alpha
  pow_scalar,   // x ^ alpha
  rpow_scalar,  // alpha ^ x
  clamp,        // min(max(x, alpha), beta)
};

// out (strided) = op(in) over `shape`. Float ops exist for float and double; neg, abs, sign,
// square, add_scalar, mul_scalar and clamp also for int32_t and int64_t.
template <typename T>
void unary(UnaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const T* in,
           std::span<const int64_t> in_strides, double alpha = 0.0, double beta = 0.0);

}  // namespace qatd::kernels::cpu
