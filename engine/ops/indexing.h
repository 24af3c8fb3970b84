#pragma once
// Indexing along one dimension with integer index tensors (i64 or i32). Index values are
// checked against the indexed dimension; gradients flow to the indexed tensor, never to indices.
#include <optional>

#include "engine/tensor.h"

namespace qatd {

// Rows of `x` along `dim` picked by the 1-D `index` (torch.index_select).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// x with source's slices added at `index` along `dim` (out-of-place torch.index_add).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
// torch.gather: out[p] = x[p with p[dim] = index[p]].
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x plus source scattered by index along dim (out-of-place torch.scatter_add).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
// Rows of `weight` (num_embeddings, dim) for each index; padding_idx rows get no gradient.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace qatd
