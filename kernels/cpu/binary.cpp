#include "kernels/cpu/binary.h"

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/cpu/contiguous.h"
#include "kernels/cpu/loops.h"

namespace qatd::kernels::cpu {

namespace {

// The derivative products of transcendental functions on contiguous buffers, vectorized.
template <typename T>
bool run_contiguous(BinaryOp op, int64_t count, T* out, const T* a, const T* b) {
  constexpr T kSqrtHalf = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  constexpr T kTwoOverSqrtPi = T(1.12837916709551257390);
  auto run = [&](auto assign) {
    contiguous_binary<T>(count, out, a, b, assign);
    return true;
  };
  switch (op) {
    case BinaryOp::gelu_backward:
      return run([=](auto& y, const auto& x, const auto& g) {
        y = g * (T(0.5) * (T(1) + (x * kSqrtHalf).erf()) + x * kInvSqrt2Pi * (T(-0.5) * x * x).exp());
      });
    case BinaryOp::gelu_tanh_backward:
      return run([=](auto& y, const auto& x, const auto& g) {
        auto t = (kSqrt2OverPi * (x + T(0.044715) * x * x * x)).tanh().eval();
        y = g * (T(0.5) * (T(1) + t) +
                 T(0.5) * x * (T(1) - t * t) * (kSqrt2OverPi * (T(1) + T(3) * T(0.044715) * x * x)));
      });
    case BinaryOp::erf_backward:
      return run([=](auto& y, const auto& x, const auto& g) { y = g * kTwoOverSqrtPi * (-x * x).exp(); });
    default: return false;
  }
}

}  // namespace

template <typename T>
void binary(BinaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const T* a,
            std::span<const int64_t> a_strides, const T* b, std::span<const int64_t> b_strides) {
  auto map = [&](auto f) { map_binary(shape, out, out_strides, a, a_strides, b, b_strides, f); };
  switch (op) {
    case BinaryOp::add: return map([](T x, T y) { return T(x + y); });
    case BinaryOp::sub: return map([](T x, T y) { return T(x - y); });
    case BinaryOp::mul: return map([](T x, T y) { return T(x * y); });
    case BinaryOp::maximum:
      if constexpr (std::is_floating_point_v<T>) {
        return map([](T x, T y) { return std::isnan(x) || x > y ? x : y; });
      } else {
        return map([](T x, T y) { return x > y ? x : y; });
      }
    case BinaryOp::minimum:
      if constexpr (std::is_floating_point_v<T>) {
        return map([](T x, T y) { return std::isnan(x) || x < y ? x : y; });
      } else {
        return map([](T x, T y) { return x < y ? x : y; });
      }
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (is_contiguous_layout(shape, out_strides) && is_contiguous_layout(shape, a_strides) &&
        is_contiguous_layout(shape, b_strides) && run_contiguous(op, element_count(shape), out, a, b)) {
      return;
    }
    constexpr T kSqrtHalf = T(0.70710678118654752440);
    constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
    constexpr T kSqrt2OverPi = T(0.79788456080286535588);
    constexpr T kTwoOverSqrtPi = T(1.12837916709551257390);
    switch (op) {
      case BinaryOp::div: return map([](T x, T y) { return x / y; });
      case BinaryOp::pow: return map([](T x, T y) { return std::pow(x, y); });
      case BinaryOp::gelu_backward:
        return map([=](T x, T g) {
          T cdf = T(0.5) * (T(1) + std::erf(x * kSqrtHalf));
          T pdf = kInvSqrt2Pi * std::exp(T(-0.5) * x * x);
          return g * (cdf + x * pdf);
        });
      case BinaryOp::gelu_tanh_backward:
        return map([=](T x, T g) {
          T inner = kSqrt2OverPi * (x + T(0.044715) * x * x * x);
          T t = std::tanh(inner);
          T d_inner = kSqrt2OverPi * (T(1) + T(3) * T(0.044715) * x * x);
          return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * d_inner);
        });
      case BinaryOp::sigmoid_backward: return map([](T y, T g) { return g * y * (T(1) - y); });
      case BinaryOp::tanh_backward: return map([](T y, T g) { return g * (T(1) - y * y); });
      case BinaryOp::relu_backward: return map([](T x, T g) { return x > T(0) ? g : T(0); });
      case BinaryOp::erf_backward: return map([=](T x, T g) { return g * kTwoOverSqrtPi * std::exp(-x * x); });
      default: break;
    }
  }
  throw std::invalid_argument("binary: op not defined for this element type");
}

template <typename T>
void compare(CompareOp op, std::span<const int64_t> shape, bool* out, std::span<const int64_t> out_strides,
             const T* a, std::span<const int64_t> a_strides, const T* b, std::span<const int64_t> b_strides) {
  auto map = [&](auto f) { map_binary(shape, out, out_strides, a, a_strides, b, b_strides, f); };
  switch (op) {
    case CompareOp::eq: return map([](T x, T y) { return x == y; });
    case CompareOp::ne: return map([](T x, T y) { return x != y; });
    case CompareOp::lt: return map([](T x, T y) { return x < y; });
    case CompareOp::le: return map([](T x, T y) { return x <= y; });
    case CompareOp::gt: return map([](T x, T y) { return x > y; });
    case CompareOp::ge: return map([](T x, T y) { return x >= y; });
  }
}

template <typename T>
void where(std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const bool* condition,
           std::span<const int64_t> condition_strides, const T* a, std::span<const int64_t> a_strides, const T* b,
           std::span<const int64_t> b_strides) {
  map_ternary(shape, out, out_strides, condition, condition_strides, a, a_strides, b, b_strides,
              [](bool c, T x, T y) { return c ? x : y; });
}

#define QATD_INSTANTIATE_BINARY(T)                                                                                  \
  template void binary<T>(BinaryOp, std::span<const int64_t>, T*, std::span<const int64_t>, const T*,             \
                          std::span<const int64_t>, const T*, std::span<const int64_t>);                           \
  template void compare<T>(CompareOp, std::span<const int64_t>, bool*, std::span<const int64_t>, const T*,        \
                           std::span<const int64_t>, const T*, std::span<const int64_t>);                          \
  template void where<T>(std::span<const int64_t>, T*, std::span<const int64_t>, const bool*,                     \
                         std::span<const int64_t>, const T*, std::span<const int64_t>, const T*,                   \
                         std::span<const int64_t>);
QATD_INSTANTIATE_BINARY(float)
QATD_INSTANTIATE_BINARY(double)
QATD_INSTANTIATE_BINARY(int32_t)
QATD_INSTANTIATE_BINARY(int64_t)
#undef QATD_INSTANTIATE_BINARY

template void compare<uint8_t>(CompareOp, std::span<const int64_t>, bool*, std::span<const int64_t>, const uint8_t*,
                               std::span<const int64_t>, const uint8_t*, std::span<const int64_t>);
template void compare<int8_t>(CompareOp, std::span<const int64_t>, bool*, std::span<const int64_t>, const int8_t*,
                              std::span<const int64_t>, const int8_t*, std::span<const int64_t>);
template void compare<int16_t>(CompareOp, std::span<const int64_t>, bool*, std::span<const int64_t>, const int16_t*,
                               std::span<const int64_t>, const int16_t*, std::span<const int64_t>);
template void compare<bool>(CompareOp, std::span<const int64_t>, bool*, std::span<const int64_t>, const bool*,
                            std::span<const int64_t>, const bool*, std::span<const int64_t>);
template void where<bool>(std::span<const int64_t>, bool*, std::span<const int64_t>, const bool*,
                          std::span<const int64_t>, const bool*, std::span<const int64_t>, const bool*,
                          std::span<const int64_t>);

}  // namespace qatd::kernels::cpu
