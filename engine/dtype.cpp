#include "engine/dtype.h"

namespace qatd {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::f16: return 2;
    case DType::bf16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
    case DType::boolean: return 1;
    case DType::i8: return 1;
    case DType::i16: return 2;
  }
  fail("unknown dtype");
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::boolean: return "bool";
    case DType::i8: return "i8";
    case DType::i16: return "i16";
  }
  return "unknown";
}

std::string_view safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
    case DType::i8: return "I8";
    case DType::i16: return "I16";
  }
  return "unknown";
}

DType dtype_from_name(std::string_view name) {
  for (DType dtype : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8,
                      DType::boolean, DType::i8, DType::i16}) {
    if (name == dtype_name(dtype) || name == safetensors_dtype_name(dtype)) return dtype;
  }
  fail("unknown dtype '{}' (known: f32 f64 f16 bf16 i8 i16 i32 i64 u8 bool, or safetensors' F32 F64 F16 BF16 I8 I16 "
       "I32 I64 U8 BOOL)",
       name);
}

bool is_floating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::f16 || dtype == DType::bf16;
}

bool is_integral(DType dtype) { return !is_floating(dtype); }

}  // namespace qatd
