#include "engine/ops/checks.h"

namespace qatd::ops_detail {

void check_defined(std::string_view op, const Tensor& tensor, std::string_view what) {
  QATD_CHECK(tensor.defined(), "{}: {} is an undefined tensor", op, what);
  QATD_CHECK(tensor.device().is_cpu(), "{}: {} is on {}, and this op runs on cpu only for now", op, what,
             tensor.device().str());
}

void check_same_dtype(std::string_view op, const Tensor& a, const Tensor& b) {
  QATD_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} and {}); convert one with .to()", op, a.dtype(),
             b.dtype());
}

void check_rank(std::string_view op, const Tensor& tensor, int64_t rank, std::string_view what,
                std::string_view layout) {
  QATD_CHECK(tensor.dim() == rank, "{}: {} must be {}-D {}, got shape {}", op, what, rank, layout,
             shape_str(tensor.shape()));
}

void check_floating(std::string_view op, const Tensor& tensor) {
  QATD_CHECK(tensor.dtype() == DType::f32 || tensor.dtype() == DType::f64,
             "{}: needs a f32 or f64 tensor, got {} (convert with .to())", op, tensor.dtype());
}

Shape broadcast_strides(const Tensor& tensor, const Shape& shape) {
  const Shape& own = tensor.shape();
  const Shape& own_strides = tensor.strides();
  Shape strides(shape.size(), 0);
  size_t lead = shape.size() - own.size();
  for (size_t i = 0; i < own.size(); ++i) {
    strides[lead + i] = own[i] == 1 ? 0 : own_strides[i];
  }
  return strides;
}

std::string describe(const Tensor& tensor) {
  return fmt::format("{} {}", shape_str(tensor.shape()), tensor.dtype());
}

}  // namespace qatd::ops_detail
