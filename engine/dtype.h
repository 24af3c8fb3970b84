#pragma once
// Element types. Compute ops run on f32 and f64 (f64 for gradient checks); f16 and bf16
// are storage types converted with .to(); integers hold indices, labels and counts, and i8/i16
// the integer weights of quantized exports.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <Eigen/Core>

#include "engine/error.h"

namespace qatd {

enum class DType : uint8_t { f32, f64, f16, bf16, i32, i64, u8, boolean, i8, i16 };

using Half = Eigen::half;
using BFloat16 = Eigen::bfloat16;

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
DType dtype_from_name(std::string_view name);  // accepts our names and safetensors' ("F32", "BF16", ...)
std::string_view safetensors_dtype_name(DType dtype);
bool is_floating(DType dtype);   // f32, f64, f16, bf16
bool is_integral(DType dtype);   // i8, i16, i32, i64, u8, bool

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::f16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::bf16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::boolean; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::i8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::i16; };
template <typename T> inline constexpr DType dtype_of = DTypeOf<T>::value;

// Calls fn.template operator()<T>() with T the C++ type of a compute dtype (f32, f64).
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    default: fail("{}: dtype {} is not supported (use f32 or f64; convert with .to())", op, dtype_name(dtype));
  }
}

// Like dispatch_floating, plus the integer types i32 and i64.
template <typename Fn>
decltype(auto) dispatch_numeric(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    case DType::i32: return fn.template operator()<int32_t>();
    case DType::i64: return fn.template operator()<int64_t>();
    default: fail("{}: dtype {} is not supported (use f32, f64, i32 or i64)", op, dtype_name(dtype));
  }
}

// Every dtype.
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    case DType::f16: return fn.template operator()<Half>();
    case DType::bf16: return fn.template operator()<BFloat16>();
    case DType::i32: return fn.template operator()<int32_t>();
    case DType::i64: return fn.template operator()<int64_t>();
    case DType::u8: return fn.template operator()<uint8_t>();
    case DType::boolean: return fn.template operator()<bool>();
    case DType::i8: return fn.template operator()<int8_t>();
    case DType::i16: return fn.template operator()<int16_t>();
  }
  fail("unknown dtype");
}

}  // namespace qatd

template <>
struct fmt::formatter<qatd::DType> : fmt::formatter<std::string_view> {
  auto format(qatd::DType dtype, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(qatd::dtype_name(dtype), ctx);
  }
};
