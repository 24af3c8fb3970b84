#include "engine/ops/attention.h"

#include <cmath>

#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/attention.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

constexpr const char* kName = "scaled_dot_product_attention";

Shape leading_dims(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

Shape with_matrix(Shape batch_shape, int64_t rows, int64_t cols) {
  batch_shape.push_back(rows);
  batch_shape.push_back(cols);
  return batch_shape;
}

// Element offset of every batch entry (row-major over batch_shape) in a tensor whose strides are
// `strides` over batch_shape followed by two matrix dims (stride 0 where a dim is broadcast).
std::vector<int64_t> batch_offsets(const Shape& strides, const Shape& batch_shape) {
  std::vector<int64_t> offsets(numel_of(batch_shape), 0);
  const int64_t rank = static_cast<int64_t>(batch_shape.size());
  std::vector<int64_t> index(rank, 0);
  for (int64_t& offset : offsets) {
    for (int64_t d = 0; d < rank; ++d) offset += index[d] * strides[d];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < batch_shape[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

// Where the kernel finds each operand's matrices; shared by forward and backward.
struct Geometry {
  Shape batch_shape;
  int64_t batch = 0, query_length = 0, key_length = 0, head_dim = 0, value_dim = 0;
  double scale = 1.0;
  std::vector<int64_t> query_offsets, key_offsets, value_offsets, mask_offsets;
  int64_t query_row_stride = 0, key_row_stride = 0, value_row_stride = 0;
  int64_t mask_row_stride = 0, mask_column_stride = 0;
};

// An operand whose rows the GEMMs can read in place: unit-stride elements and rows that do not
// overlap. Anything else is copied to contiguous memory first.
Tensor readable_rows(const Tensor& t) {
  int64_t rows = t.shape()[t.dim() - 2], cols = t.shape()[t.dim() - 1];
  bool unit_elements = cols <= 1 || t.stride(-1) == 1;
  bool separate_rows = rows <= 1 || t.stride(-2) >= cols;
  bool batch_ok = true;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) batch_ok = batch_ok && (t.shape()[d] == 1 || t.stride(d) >= 0);
  Tensor detached = t.detach();
  return unit_elements && separate_rows && batch_ok ? detached : detached.contiguous();
}

// The row stride of a (..., rows, cols) operand, for a GEMM leading dimension (any value
// >= cols is valid when there is only one row).
int64_t row_stride_of(const Tensor& t) {
  int64_t rows = t.shape()[t.dim() - 2], cols = t.shape()[t.dim() - 1];
  return rows <= 1 ? std::max<int64_t>(cols, 1) : t.stride(-2);
}

template <typename T>
kernels::cpu::AttentionProblem<T> make_problem(const Geometry& g, const Tensor& q, const Tensor& k, const Tensor& v,
                                               const Tensor& mask) {
  kernels::cpu::AttentionProblem<T> p;
  p.batch = g.batch;
  p.query_length = g.query_length;
  p.key_length = g.key_length;
  p.head_dim = g.head_dim;
  p.value_dim = g.value_dim;
  p.scale = static_cast<T>(g.scale);
  p.query = {q.data<T>(), g.query_offsets.data(), g.query_row_stride};
  p.key = {k.data<T>(), g.key_offsets.data(), g.key_row_stride};
  p.value = {v.data<T>(), g.value_offsets.data(), g.value_row_stride};
  if (mask.defined()) {
    if (mask.dtype() == DType::boolean) {
      p.bool_mask = mask.data<bool>();
    } else {
      p.float_mask = mask.data<T>();
    }
    p.mask_offsets = g.mask_offsets.data();
    p.mask_row_stride = g.mask_row_stride;
    p.mask_column_stride = g.mask_column_stride;
  }
  return p;
}

void check_arguments(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
  ops_detail::check_defined(kName, q, "query");
  ops_detail::check_defined(kName, k, "key");
  ops_detail::check_defined(kName, v, "value");
  ops_detail::check_floating(kName, q);
  ops_detail::check_same_dtype(kName, q, k);
  ops_detail::check_same_dtype(kName, q, v);
  QATD_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2,
             "{}: query, key and value must be at least 2-D (..., L, E), got {}, {} and {}", kName,
             shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  QATD_CHECK(q.shape().back() == k.shape().back(),
             "{}: query and key must share their last dim E, got query {} and key {}", kName, shape_str(q.shape()),
             shape_str(k.shape()));
  QATD_CHECK(q.shape().back() > 0, "{}: the head dim E of query {} must be positive", kName, shape_str(q.shape()));
  QATD_CHECK(k.shape()[k.dim() - 2] == v.shape()[v.dim() - 2],
             "{}: key and value must have the same number of rows Lk, got key {} and value {}", kName,
             shape_str(k.shape()), shape_str(v.shape()));
  if (mask.defined()) {
    ops_detail::check_defined(kName, mask, "mask");
    QATD_CHECK(mask.dtype() == DType::boolean || mask.dtype() == q.dtype(),
               "{}: mask must be bool or {} like the query, got {}", kName, q.dtype(), mask.dtype());
  }
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    std::optional<double> scale) {
  check_arguments(q, k, v, mask);
  Geometry g;
  g.batch_shape = broadcast_shapes(broadcast_shapes(leading_dims(q), leading_dims(k), kName), leading_dims(v), kName);
  g.batch = numel_of(g.batch_shape);
  g.query_length = q.shape()[q.dim() - 2];
  g.key_length = k.shape()[k.dim() - 2];
  g.head_dim = q.shape().back();
  g.value_dim = v.shape().back();
  g.scale = scale.value_or(1.0 / std::sqrt(static_cast<double>(g.head_dim)));
  Shape scores_shape = with_matrix(g.batch_shape, g.query_length, g.key_length);
  if (mask.defined()) {
    QATD_CHECK(is_broadcastable_to(mask.shape(), scores_shape),
               "{}: mask of shape {} does not broadcast to the scores' shape {} (query {}, key {})", kName,
               shape_str(mask.shape()), shape_str(scores_shape), shape_str(q.shape()), shape_str(k.shape()));
  }

  Tensor query = readable_rows(q), key = readable_rows(k), value = readable_rows(v);
  Tensor mask_view = mask.defined() ? mask.detach() : Tensor();
  auto place = [&](const Tensor& t, int64_t rows, int64_t cols, std::vector<int64_t>& offsets, int64_t& row_stride) {
    offsets = batch_offsets(ops_detail::broadcast_strides(t, with_matrix(g.batch_shape, rows, cols)), g.batch_shape);
    row_stride = row_stride_of(t);
  };
  place(query, g.query_length, g.head_dim, g.query_offsets, g.query_row_stride);
  place(key, g.key_length, g.head_dim, g.key_offsets, g.key_row_stride);
  place(value, g.key_length, g.value_dim, g.value_offsets, g.value_row_stride);
  if (mask.defined()) {
    Shape strides = ops_detail::broadcast_strides(mask_view, scores_shape);
    g.mask_offsets = batch_offsets(strides, g.batch_shape);
    g.mask_row_stride = strides[strides.size() - 2];
    g.mask_column_stride = strides.back();
  }

  Tensor out = empty(with_matrix(g.batch_shape, g.query_length, g.value_dim), q.dtype());
  Tensor log_sum_exp = empty({g.batch, g.query_length}, q.dtype());
  dispatch_floating(q.dtype(), kName, [&]<typename T>() {
    kernels::cpu::attention_forward<T>(make_problem<T>(g, query, key, value, mask_view), out.data<T>(),
                                       log_sum_exp.data<T>());
  });
  if (!needs_grad({q, k, v})) return out;
  SavedTensor saved_query(query), saved_key(key), saved_value(value), saved_mask(mask_view), saved_out(out),
      saved_log_sum_exp(log_sum_exp);
  record(kName, {q, k, v}, out, [=](const Tensor& grad) {
    Tensor upstream = grad.contiguous(), o = saved_out.get(), lse = saved_log_sum_exp.get();
    Tensor saved_q = saved_query.get(), saved_k = saved_key.get(), saved_v = saved_value.get();
    Tensor saved_m = saved_mask.defined() ? saved_mask.get() : Tensor();
    Tensor grad_query = empty(with_matrix(g.batch_shape, g.query_length, g.head_dim), o.dtype());
    Tensor grad_key = empty(with_matrix(g.batch_shape, g.key_length, g.head_dim), o.dtype());
    Tensor grad_value = empty(with_matrix(g.batch_shape, g.key_length, g.value_dim), o.dtype());
    dispatch_floating(o.dtype(), kName, [&]<typename T>() {
      kernels::cpu::attention_backward<T>(make_problem<T>(g, saved_q, saved_k, saved_v, saved_m), o.data<T>(),
                                          lse.data<T>(), upstream.data<T>(), grad_query.data<T>(), grad_key.data<T>(),
                                          grad_value.data<T>());
    });
    // Broadcast batch dims are summed back to each input's shape by the engine.
    return std::vector<Tensor>{grad_query, grad_key, grad_value};
  });
  return out;
}

}  // namespace qatd
