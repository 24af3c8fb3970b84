#pragma once
// Argument checks and stride helpers shared by the op implementations.
#include <string_view>

#include "engine/tensor.h"

namespace qatd::ops_detail {

// Throws naming `op` and `what` ("input", "weight", ...) when `tensor` is undefined.
void check_defined(std::string_view op, const Tensor& tensor, std::string_view what);
// Throws naming both dtypes when `a` and `b` differ.
void check_same_dtype(std::string_view op, const Tensor& a, const Tensor& b);
// Throws unless `tensor` has rank `rank`, describing the expected layout ("(N, C, H, W)").
void check_rank(std::string_view op, const Tensor& tensor, int64_t rank, std::string_view what,
                std::string_view layout);
void check_floating(std::string_view op, const Tensor& tensor);
// Strides that read `tensor` as if broadcast to `shape` (0 in repeated dimensions).
Shape broadcast_strides(const Tensor& tensor, const Shape& shape);
// Ranks in the order PyTorch names them, for messages: "(2, 3)" etc.
std::string describe(const Tensor& tensor);

}  // namespace qatd::ops_detail
