#pragma once
// Reductions over dims (an empty dims list means all dims), with keepdim as in PyTorch.
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Sums `x` down to `shape`, which must broadcast to x's shape (the gradient of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
// Maximum/minimum over dims; tied maxima share the gradient evenly (torch.amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Values and indices of the maximum/minimum along one dim; the gradient goes to that index (torch.max(x, dim)).
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// Variance with `correction` (1: unbiased, torch.var's default).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);
// p-norm over dims: p = 1, 2, infinity, or any p > 0 (torch.linalg.vector_norm).
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor cumsum(const Tensor& x, int64_t dim);

}  // namespace qatd
