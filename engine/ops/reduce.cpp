#include "engine/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/indexing.h"
#include "kernels/cpu/reduce.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using kernels::cpu::ReduceOp;

namespace {

// A reduction brought to the kernels' [outer, size, inner] form.
struct ReducePlan {
  Tensor input;          // contiguous, laid out as [outer, size, inner]
  int64_t outer = 1, size = 1, inner = 1;
  Shape kept_shape;      // the output with reduced dims kept as 1
  Shape output_shape;    // the output as returned (keepdim or not)
  std::vector<bool> reduced;

  std::vector<int64_t> reduced_dims() const {
    std::vector<int64_t> dims;
    for (size_t d = 0; d < reduced.size(); ++d) {
      if (reduced[d]) dims.push_back(static_cast<int64_t>(d));
    }
    return dims;
  }
};

ReducePlan plan(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, std::string_view op) {
  ops_detail::check_defined(op, x, "input");
  int64_t rank = x.dim();
  ReducePlan result;
  result.reduced.assign(rank, dims.empty());
  for (int64_t d : dims) {
    int64_t wrapped = wrap_dim(d, std::max<int64_t>(rank, 1), op);
    if (rank == 0) continue;
    QATD_CHECK(!result.reduced[wrapped], "{}: dim {} appears twice in the reduction dims", op, wrapped);
    result.reduced[wrapped] = true;
  }
  for (int64_t d = 0; d < rank; ++d) {
    result.kept_shape.push_back(result.reduced[d] ? 1 : x.shape()[d]);
    if (!result.reduced[d] || keepdim) result.output_shape.push_back(result.kept_shape.back());
  }
  // Reduced dims forming one block of a contiguous tensor need no copy.
  int64_t first = rank, last = -1;
  for (int64_t d = 0; d < rank; ++d) {
    if (result.reduced[d]) {
      first = std::min(first, d);
      last = std::max(last, d);
    }
  }
  bool block = true;
  for (int64_t d = first; d <= last; ++d) block = block && result.reduced[d];
  if (last < 0) {
    result.input = x.contiguous();
    result.outer = x.numel();
    return result;
  }
  if (block && x.is_contiguous()) {
    result.input = x;
    for (int64_t d = 0; d < first; ++d) result.outer *= x.shape()[d];
    for (int64_t d = first; d <= last; ++d) result.size *= x.shape()[d];
    for (int64_t d = last + 1; d < rank; ++d) result.inner *= x.shape()[d];
    return result;
  }
  std::vector<int64_t> order;
  for (int64_t d = 0; d < rank; ++d) {
    if (!result.reduced[d]) {
      order.push_back(d);
      result.outer *= x.shape()[d];
    }
  }
  for (int64_t d = 0; d < rank; ++d) {
    if (result.reduced[d]) {
      order.push_back(d);
      result.size *= x.shape()[d];
    }
  }
  result.input = x.detach().permute(order).contiguous();
  return result;
}

Tensor run_reduce(const ReducePlan& p, ReduceOp op, std::string_view name, double norm_p = 2.0) {
  Tensor out = empty(p.output_shape, p.input.dtype());
  auto run = [&]<typename T>() {
    kernels::cpu::reduce<T>(op, p.input.data<T>(), p.outer, p.size, p.inner, out.data<T>(), norm_p);
  };
  if (op == ReduceOp::mean || op == ReduceOp::norm2 || op == ReduceOp::norm_p) {
    dispatch_floating(p.input.dtype(), name, run);
  } else {
    dispatch_numeric(p.input.dtype(), name, run);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  ReducePlan p = plan(x, dims, keepdim, "sum");
  QATD_CHECK(x.dtype() != DType::boolean && x.dtype() != DType::u8, "sum: convert {} tensors with .to() first",
             x.dtype());
  Tensor out = run_reduce(p, ReduceOp::sum, "sum");
  if (needs_grad({x})) {
    Shape kept = p.kept_shape, input_shape = x.shape();
    record("sum", {x}, out, [kept, input_shape](const Tensor& g) {
      return std::vector<Tensor>{g.reshape(kept).expand(input_shape)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  ReducePlan p = plan(x, dims, keepdim, "mean");
  Tensor out = run_reduce(p, ReduceOp::mean, "mean");
  if (needs_grad({x})) {
    Shape kept = p.kept_shape, input_shape = x.shape();
    double count = static_cast<double>(p.size);
    record("mean", {x}, out, [kept, input_shape, count](const Tensor& g) {
      return std::vector<Tensor>{div(g.reshape(kept), count).expand(input_shape)};
    });
  }
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  QATD_CHECK(is_broadcastable_to(shape, x.shape()), "sum_to: shape {} does not broadcast to {}", shape_str(shape),
             shape_str(x.shape()));
  if (x.shape() == shape) return x;
  std::vector<int64_t> dims;
  size_t lead = x.shape().size() - shape.size();
  for (size_t d = 0; d < x.shape().size(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

namespace {

Tensor extremum_over_dims(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool is_max) {
  const char* name = is_max ? "amax" : "amin";
  ReducePlan p = plan(x, dims, keepdim, name);
  QATD_CHECK(x.numel() > 0, "{}: the input is empty", name);
  Tensor out = run_reduce(p, is_max ? ReduceOp::max : ReduceOp::min, name);
  if (needs_grad({x})) {
    SavedTensor saved_x(x), saved_out(out);
    Shape kept = p.kept_shape;
    std::vector<int64_t> reduced_dims = p.reduced_dims();
    record(name, {x}, out, [saved_x, saved_out, kept, reduced_dims](const Tensor& g) {
      Tensor input = saved_x.get();
      Tensor selected = eq(input, saved_out.get().reshape(kept)).to(g.dtype());
      Tensor count = sum(selected, reduced_dims, true);
      return std::vector<Tensor>{mul(div(g.reshape(kept), count), selected)};
    });
  }
  return out;
}

Tensor arg_extremum(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* name = is_max ? "argmax" : "argmin";
  ops_detail::check_defined(name, x, "input");
  int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), name);
  QATD_CHECK(x.numel() > 0, "{}: the input is empty", name);
  ReducePlan p = plan(x, x.dim() == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{d}, keepdim, name);
  Tensor out = empty(p.output_shape, DType::i64);
  dispatch_numeric(x.dtype(), name, [&]<typename T>() {
    kernels::cpu::arg_extremum<T>(is_max, p.input.data<T>(), p.outer, p.size, p.inner, out.data<int64_t>());
  });
  return out;
}

std::pair<Tensor, Tensor> extremum_along(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  Tensor indices = arg_extremum(x, dim, true, is_max);
  int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), is_max ? "max" : "min");
  Tensor values = x.dim() == 0 ? x : gather(x, d, indices);
  if (!keepdim && x.dim() > 0) {
    values = values.squeeze(d);
    indices = indices.squeeze(d);
  }
  return {values, indices};
}

}  // namespace

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum_over_dims(x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum_over_dims(x, dims, keepdim, false);
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(x, dim, keepdim, false);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return arg_extremum(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return arg_extremum(x, dim, keepdim, false); }

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  ReducePlan p = plan(x, dims, keepdim, "var");
  Tensor out = empty(p.output_shape, x.dtype());
  dispatch_floating(x.dtype(), "var", [&]<typename T>() {
    kernels::cpu::variance<T>(p.input.data<T>(), p.outer, p.size, p.inner, correction, out.data<T>());
  });
  if (needs_grad({x})) {
    SavedTensor saved_x(x);
    Shape kept = p.kept_shape;
    std::vector<int64_t> reduced_dims = p.reduced_dims();
    double divisor = std::max(0.0, static_cast<double>(p.size) - correction);
    record("var", {x}, out, [saved_x, kept, reduced_dims, divisor](const Tensor& g) {
      Tensor input = saved_x.get();
      Tensor centered = sub(input, mean(input, reduced_dims, true));
      return std::vector<Tensor>{mul(g.reshape(kept), mul(centered, 2.0 / divisor))};
    });
  }
  return out;
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  QATD_CHECK(p > 0.0, "norm: p must be positive, got {}", p);
  ReducePlan layout = plan(x, dims, keepdim, "norm");
  ops_detail::check_floating("norm", x);
  bool infinite = std::isinf(p);
  ReduceOp op = infinite ? ReduceOp::norm_inf : p == 1.0 ? ReduceOp::norm1 : p == 2.0 ? ReduceOp::norm2 : ReduceOp::norm_p;
  Tensor out = run_reduce(layout, op, "norm", p);
  if (needs_grad({x})) {
    SavedTensor saved_x(x), saved_out(out);
    Shape kept = layout.kept_shape;
    std::vector<int64_t> reduced_dims = layout.reduced_dims();
    record("norm", {x}, out, [saved_x, saved_out, kept, reduced_dims, p, infinite](const Tensor& g) {
      Tensor input = saved_x.get();
      Tensor n = saved_out.get().reshape(kept);
      Tensor upstream = g.reshape(kept);
      Tensor grad;
      if (infinite) {
        // Like amax of |x|: ties share the gradient.
        Tensor selected = eq(abs(input), n).to(g.dtype());
        Tensor count = sum(selected, reduced_dims, true);
        grad = mul(mul(div(upstream, count), selected), sign(input));
      } else if (p == 1.0) {
        grad = mul(upstream, sign(input));
      } else {
        // d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1); zero where the norm is zero.
        Tensor safe_norm = where(eq(n, 0.0), ones_like(n), n);
        Tensor scale = div(pow(abs(input), p - 1.0), pow(safe_norm, p - 1.0));
        grad = where(eq(n, 0.0), zeros({}, g.dtype()), mul(upstream, mul(sign(input), scale)));
      }
      return std::vector<Tensor>{grad};
    });
  }
  return out;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
  ops_detail::check_defined("cumsum", x, "input");
  if (x.dim() == 0) return x.clone();
  int64_t d = wrap_dim(dim, x.dim(), "cumsum");
  Tensor input = x.contiguous();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  auto scan = [outer, inner, d](const Tensor& source, bool reverse) {
    Tensor out = empty(source.shape(), source.dtype());
    dispatch_numeric(source.dtype(), "cumsum", [&]<typename T>() {
      kernels::cpu::cumsum<T>(source.data<T>(), outer, source.shape()[d], inner, out.data<T>(), reverse);
    });
    return out;
  };
  Tensor out = scan(input, false);
  if (needs_grad({x})) {
    record("cumsum", {x}, out, [scan](const Tensor& g) { return std::vector<Tensor>{scan(g.contiguous(), true)}; });
  }
  return out;
}

Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return qatd::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return qatd::mean(*this, dims, keepdim); }

}  // namespace qatd
