#pragma once
// Shapes and strides (in elements, row-major), and the arithmetic every op shares:
// element counts, broadcasting, negative-dimension wrapping, printing.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qatd {

using Shape = std::vector<int64_t>;

int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// Wraps a possibly negative dim into [0, rank); `op` names the caller in the error.
int64_t wrap_dim(int64_t dim, int64_t rank, std::string_view op);
// NumPy broadcasting of two shapes; throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
bool is_broadcastable_to(const Shape& from, const Shape& to);
std::string shape_str(const Shape& shape);

}  // namespace qatd
