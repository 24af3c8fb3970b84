#include "engine/ops/indexing.h"

#include <algorithm>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/indexing.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// The index as contiguous i64, after checking every value lies in [0, size) (negative values
// count from the end, as in PyTorch).
Tensor checked_index(const Tensor& index, int64_t size, std::string_view op) {
  ops_detail::check_defined(op, index, "index");
  QATD_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, "{}: index must be i64 or i32, got {}", op,
             index.dtype());
  Tensor result = index.to(DType::i64).contiguous();
  if (result.is_same(index)) result = index.clone();
  int64_t* values = result.data<int64_t>();
  for (int64_t i = 0; i < result.numel(); ++i) {
    int64_t v = values[i];
    QATD_CHECK(v >= -size && v < size, "{}: index {} is out of range for a dimension of size {}", op, v, size);
    if (v < 0) values[i] = v + size;
  }
  return result;
}

struct DimSplit {
  int64_t outer = 1, size = 1, inner = 1;
};

DimSplit split_at(const Shape& shape, int64_t dim) {
  DimSplit split;
  for (int64_t i = 0; i < dim; ++i) split.outer *= shape[i];
  split.size = shape[dim];
  for (size_t i = dim + 1; i < shape.size(); ++i) split.inner *= shape[i];
  return split;
}

Tensor index_add_kernel(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  Tensor out = x.contiguous().clone().detach();
  Tensor values = source.contiguous();
  DimSplit split = split_at(x.shape(), dim);
  dispatch_numeric(x.dtype(), "index_add", [&]<typename T>() {
    kernels::cpu::index_add<T>(out.data<T>(), split.outer, split.size, split.inner, index.data<int64_t>(),
                               index.numel(), values.data<T>());
  });
  return out;
}

Tensor scatter_add_kernel(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  Tensor out = x.contiguous().clone().detach();
  Tensor values = source.contiguous();
  dispatch_numeric(x.dtype(), "scatter_add", [&]<typename T>() {
    kernels::cpu::scatter_add<T>(out.data<T>(), out.strides(), index.data<int64_t>(), index.shape(), dim,
                                 values.data<T>());
  });
  return out;
}

void check_gather_shapes(std::string_view op, const Tensor& x, int64_t dim, const Tensor& index) {
  QATD_CHECK(index.dim() == x.dim(), "{}: index of shape {} must have the rank of the input {}", op,
             shape_str(index.shape()), shape_str(x.shape()));
  for (int64_t d = 0; d < x.dim(); ++d) {
    QATD_CHECK(d == dim || index.shape()[d] <= x.shape()[d],
               "{}: index of shape {} is larger than the input {} in dim {}", op, shape_str(index.shape()),
               shape_str(x.shape()), d);
  }
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  ops_detail::check_defined("index_select", x, "input");
  QATD_CHECK(index.defined() && index.dim() <= 1, "index_select: index must be 1-D");
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  Tensor idx = checked_index(index.reshape({-1}), x.shape()[d], "index_select");
  Tensor input = x.contiguous();
  DimSplit split = split_at(x.shape(), d);
  Shape out_shape = x.shape();
  out_shape[d] = idx.numel();
  Tensor out = empty(out_shape, x.dtype());
  dispatch_numeric(x.dtype(), "index_select", [&]<typename T>() {
    kernels::cpu::index_select<T>(input.data<T>(), split.outer, split.size, split.inner, idx.data<int64_t>(),
                                  idx.numel(), out.data<T>());
  });
  if (needs_grad({x})) {
    Shape input_shape = x.shape();
    DType dtype = x.dtype();
    record("index_select", {x}, out, [idx, input_shape, dtype, d](const Tensor& g) {
      return std::vector<Tensor>{index_add_kernel(zeros(input_shape, dtype), d, idx, g)};
    });
  }
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  ops_detail::check_defined("index_add", x, "input");
  ops_detail::check_defined("index_add", source, "source");
  ops_detail::check_same_dtype("index_add", x, source);
  int64_t d = wrap_dim(dim, x.dim(), "index_add");
  QATD_CHECK(index.defined() && index.dim() <= 1, "index_add: index must be 1-D");
  Tensor idx = checked_index(index.reshape({-1}), x.shape()[d], "index_add");
  Shape expected = x.shape();
  expected[d] = idx.numel();
  QATD_CHECK(source.shape() == expected, "index_add: source has shape {}, expected {}", shape_str(source.shape()),
             shape_str(expected));
  Tensor out = index_add_kernel(x, d, idx, source);
  if (needs_grad({x, source})) {
    record("index_add", {x, source}, out,
           [idx, d](const Tensor& g) { return std::vector<Tensor>{g, index_select(g, d, idx)}; });
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  ops_detail::check_defined("gather", x, "input");
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes("gather", x, d, index);
  Tensor idx = checked_index(index, x.shape()[d], "gather");
  Tensor out = empty(idx.shape(), x.dtype());
  dispatch_numeric(x.dtype(), "gather", [&]<typename T>() {
    kernels::cpu::gather<T>(x.data<T>(), x.strides(), idx.data<int64_t>(), idx.shape(), d, out.data<T>());
  });
  if (needs_grad({x})) {
    Shape input_shape = x.shape();
    DType dtype = x.dtype();
    record("gather", {x}, out, [idx, input_shape, dtype, d](const Tensor& g) {
      return std::vector<Tensor>{scatter_add_kernel(zeros(input_shape, dtype), d, idx, g)};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  ops_detail::check_defined("scatter_add", x, "input");
  ops_detail::check_defined("scatter_add", source, "source");
  ops_detail::check_same_dtype("scatter_add", x, source);
  int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
  check_gather_shapes("scatter_add", x, d, index);
  QATD_CHECK(source.shape() == index.shape(), "scatter_add: source shape {} must equal the index shape {}",
             shape_str(source.shape()), shape_str(index.shape()));
  Tensor idx = checked_index(index, x.shape()[d], "scatter_add");
  Tensor out = scatter_add_kernel(x, d, idx, source);
  if (needs_grad({x, source})) {
    record("scatter_add", {x, source}, out,
           [idx, d](const Tensor& g) { return std::vector<Tensor>{g, gather(g, d, idx)}; });
  }
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  ops_detail::check_defined("embedding", weight, "weight");
  ops_detail::check_rank("embedding", weight, 2, "weight", "(num_embeddings, embedding_dim)");
  int64_t count = weight.shape()[0];
  Tensor idx = checked_index(indices.reshape({-1}), count, "embedding");
  Tensor rows;
  {
    NoGradGuard no_grad;
    rows = index_select(weight, 0, idx);
  }
  Shape out_shape = indices.shape();
  out_shape.push_back(weight.shape()[1]);
  Tensor out = rows.reshape(out_shape);
  if (needs_grad({weight})) {
    Shape weight_shape = weight.shape();
    DType dtype = weight.dtype();
    std::optional<int64_t> padding = padding_idx;
    if (padding && *padding < 0) *padding += count;
    record("embedding", {weight}, out, [idx, weight_shape, dtype, padding](const Tensor& g) {
      Tensor upstream = g.reshape({-1, weight_shape[1]});
      Tensor grad = index_add_kernel(zeros(weight_shape, dtype), 0, idx, upstream);
      if (padding) grad.select(0, *padding).zero_();
      return std::vector<Tensor>{grad};
    });
  }
  return out;
}

}  // namespace qatd
