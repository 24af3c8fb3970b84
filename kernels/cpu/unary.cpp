#include "kernels/cpu/unary.h"

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/cpu/contiguous.h"
#include "kernels/cpu/loops.h"

namespace qatd::kernels::cpu {

namespace {

// The transcendental ops on contiguous buffers, vectorized; false when `op` has no such path.
template <typename T>
bool run_contiguous(UnaryOp op, int64_t count, T* out, const T* in) {
  constexpr T kSqrtHalf = T(0.70710678118654752440);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  auto run = [&](auto assign) {
    contiguous_unary<T>(count, out, in, assign);
    return true;
  };
  switch (op) {
    case UnaryOp::exp: return run([](auto& y, const auto& x) { y = x.exp(); });
    case UnaryOp::log: return run([](auto& y, const auto& x) { y = x.log(); });
    case UnaryOp::log1p: return run([](auto& y, const auto& x) { y = x.log1p(); });
    case UnaryOp::sin: return run([](auto& y, const auto& x) { y = x.sin(); });
    case UnaryOp::cos: return run([](auto& y, const auto& x) { y = x.cos(); });
    case UnaryOp::tanh: return run([](auto& y, const auto& x) { y = x.tanh(); });
    case UnaryOp::sigmoid: return run([](auto& y, const auto& x) { y = T(1) / (T(1) + (-x).exp()); });
    case UnaryOp::erf: return run([](auto& y, const auto& x) { y = x.erf(); });
    case UnaryOp::gelu: return run([=](auto& y, const auto& x) { y = T(0.5) * x * (T(1) + (x * kSqrtHalf).erf()); });
    case UnaryOp::gelu_tanh:
      return run([=](auto& y, const auto& x) {
        y = T(0.5) * x * (T(1) + (kSqrt2OverPi * (x + T(0.044715) * x * x * x)).tanh());
      });
    default: return false;
  }
}

template <typename T>
void run_float(UnaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const T* in,
               std::span<const int64_t> in_strides, double alpha, double beta) {
  auto map = [&](auto f) { map_unary(shape, out, out_strides, in, in_strides, f); };
  const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
  constexpr T kSqrtHalf = T(0.70710678118654752440);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  switch (op) {
    case UnaryOp::neg: return map([](T x) { return -x; });
    case UnaryOp::abs: return map([](T x) { return std::abs(x); });
    case UnaryOp::sign: return map([](T x) { return T((x > T(0)) - (x < T(0))); });
    case UnaryOp::exp: return map([](T x) { return std::exp(x); });
    case UnaryOp::log: return map([](T x) { return std::log(x); });
    case UnaryOp::log1p: return map([](T x) { return std::log1p(x); });
    case UnaryOp::sqrt: return map([](T x) { return std::sqrt(x); });
    case UnaryOp::rsqrt: return map([](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::sin: return map([](T x) { return std::sin(x); });
    case UnaryOp::cos: return map([](T x) { return std::cos(x); });
    case UnaryOp::tanh: return map([](T x) { return std::tanh(x); });
    case UnaryOp::sigmoid: return map([](T x) { return T(1) / (T(1) + std::exp(-x)); });
    case UnaryOp::relu: return map([](T x) { return x > T(0) ? x : T(0); });
    case UnaryOp::gelu: return map([=](T x) { return T(0.5) * x * (T(1) + std::erf(x * kSqrtHalf)); });
    case UnaryOp::gelu_tanh:
      return map([=](T x) { return T(0.5) * x * (T(1) + std::tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x))); });
    case UnaryOp::erf: return map([](T x) { return std::erf(x); });
    case UnaryOp::reciprocal: return map([](T x) { return T(1) / x; });
    case UnaryOp::square: return map([](T x) { return x * x; });
    case UnaryOp::floor: return map([](T x) { return std::floor(x); });
    case UnaryOp::ceil: return map([](T x) { return std::ceil(x); });
    case UnaryOp::round: return map([](T x) { return std::nearbyint(x); });
    case UnaryOp::trunc: return map([](T x) { return std::trunc(x); });
    case UnaryOp::add_scalar: return map([=](T x) { return x + a; });
    case UnaryOp::mul_scalar: return map([=](T x) { return x * a; });
    case UnaryOp::div_scalar: return map([=](T x) { return x / a; });
    case UnaryOp::pow_scalar:
      if (alpha == 2.0) return map([](T x) { return x * x; });
      if (alpha == 0.5) return map([](T x) { return std::sqrt(x); });
      return map([=](T x) { return std::pow(x, a); });
    case UnaryOp::rpow_scalar: return map([=](T x) { return std::pow(a, x); });
    case UnaryOp::clamp: return map([=](T x) { return std::isnan(x) ? x : std::min(std::max(x, a), b); });
  }
  throw std::invalid_argument("unary: unknown op");
}

template <typename T>
void run_integer(UnaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides,
                 const T* in, std::span<const int64_t> in_strides, double alpha, double beta) {
  auto map = [&](auto f) { map_unary(shape, out, out_strides, in, in_strides, f); };
  const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
  switch (op) {
    case UnaryOp::neg: return map([](T x) { return T(-x); });
    case UnaryOp::abs: return map([](T x) { return T(x < 0 ? -x : x); });
    case UnaryOp::sign: return map([](T x) { return T((x > 0) - (x < 0)); });
    case UnaryOp::square: return map([](T x) { return T(x * x); });
    case UnaryOp::add_scalar: return map([=](T x) { return T(x + a); });
    case UnaryOp::mul_scalar: return map([=](T x) { return T(x * a); });
    case UnaryOp::clamp: return map([=](T x) { return std::min(std::max(x, a), b); });
    default: throw std::invalid_argument("unary: op not defined for integer tensors");
  }
}

}  // namespace

template <typename T>
void unary(UnaryOp op, std::span<const int64_t> shape, T* out, std::span<const int64_t> out_strides, const T* in,
           std::span<const int64_t> in_strides, double alpha, double beta) {
  if constexpr (std::is_floating_point_v<T>) {
    if (is_contiguous_layout(shape, out_strides) && is_contiguous_layout(shape, in_strides) &&
        run_contiguous(op, element_count(shape), out, in)) {
      return;
    }
    run_float(op, shape, out, out_strides, in, in_strides, alpha, beta);
  } else {
    run_integer(op, shape, out, out_strides, in, in_strides, alpha, beta);
  }
}

template void unary<float>(UnaryOp, std::span<const int64_t>, float*, std::span<const int64_t>, const float*,
                           std::span<const int64_t>, double, double);
template void unary<double>(UnaryOp, std::span<const int64_t>, double*, std::span<const int64_t>, const double*,
                            std::span<const int64_t>, double, double);
template void unary<int32_t>(UnaryOp, std::span<const int64_t>, int32_t*, std::span<const int64_t>, const int32_t*,
                             std::span<const int64_t>, double, double);
template void unary<int64_t>(UnaryOp, std::span<const int64_t>, int64_t*, std::span<const int64_t>, const int64_t*,
                             std::span<const int64_t>, double, double);

}  // namespace qatd::kernels::cpu
