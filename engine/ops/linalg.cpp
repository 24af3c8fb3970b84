#include "engine/ops/linalg.h"

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/gemm.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// A batch of matrices as the GEMM kernel reads it: row-major with a row stride, or its
// transpose, so transposed views never need a copy.
struct GemmOperand {
  Tensor storage;  // keeps the memory alive; possibly a contiguous copy
  int64_t leading = 0;
  int64_t batch_stride = 0;
  bool transposed = false;
};

// `matrices` is (B, rows, cols).
GemmOperand as_operand(const Tensor& matrices) {
  const Shape& s = matrices.strides();
  const Shape& shape = matrices.shape();
  bool batch_ok = shape[0] == 1 || s[0] >= 0;
  if (batch_ok && (s[2] == 1 || shape[2] == 1) && s[1] >= std::max<int64_t>(shape[2], 1)) {
    return {matrices, s[1], s[0], false};
  }
  if (batch_ok && (s[1] == 1 || shape[1] == 1) && s[2] >= std::max<int64_t>(shape[1], 1)) {
    return {matrices, s[2], s[0], true};
  }
  Tensor dense = matrices.contiguous();
  return {dense, dense.strides()[1], dense.strides()[0], false};
}

// out (B, n, m) = a (B, n, k) @ b (B, k, m), no autograd. A batch dim of size 1 broadcasts.
Tensor batched_product(const Tensor& a, const Tensor& b) {
  int64_t batch = std::max(a.shape()[0], b.shape()[0]);
  int64_t n = a.shape()[1], k = a.shape()[2], m = b.shape()[2];
  Tensor out = empty({batch, n, m}, a.dtype());
  GemmOperand left = as_operand(a), right = as_operand(b);
  int64_t stride_a = a.shape()[0] == 1 ? 0 : left.batch_stride;
  int64_t stride_b = b.shape()[0] == 1 ? 0 : right.batch_stride;
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    kernels::cpu::gemm_batched<T>(left.transposed, right.transposed, n, m, k, T(1), left.storage.data<T>(),
                                  left.leading, stride_a, right.storage.data<T>(), right.leading, stride_b, T(0),
                                  out.data<T>(), m, n * m, batch);
  });
  return out;
}

// The differentiable (B, n, k) @ (B, k, m) every matrix product reduces to.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  Tensor out = batched_product(a, b);
  if (needs_grad({a, b})) {
    SavedTensor saved_a(b.requires_grad() ? a : Tensor()), saved_b(a.requires_grad() ? b : Tensor());
    record("matmul", {a, b}, out, [saved_a, saved_b](const Tensor& g) {
      Tensor grad_a, grad_b;
      if (saved_b.defined()) grad_a = batched_product(g, saved_b.get().transpose(1, 2));
      if (saved_a.defined()) grad_b = batched_product(saved_a.get().transpose(1, 2), g);
      return std::vector<Tensor>{grad_a, grad_b};
    });
  }
  return out;
}

}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  ops_detail::check_defined("bmm", a, "first operand");
  ops_detail::check_defined("bmm", b, "second operand");
  ops_detail::check_same_dtype("bmm", a, b);
  ops_detail::check_floating("bmm", a);
  QATD_CHECK(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0] && a.shape()[2] == b.shape()[1],
             "bmm: expects (B, n, k) and (B, k, m), got {} and {}", shape_str(a.shape()), shape_str(b.shape()));
  return batched_matmul(a, b);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops_detail::check_defined("matmul", a, "first operand");
  ops_detail::check_defined("matmul", b, "second operand");
  ops_detail::check_same_dtype("matmul", a, b);
  ops_detail::check_floating("matmul", a);
  QATD_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must be at least 1-D, got {} and {}",
             shape_str(a.shape()), shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) {
    QATD_CHECK(a.shape()[0] == b.shape()[0], "matmul: vectors of sizes {} and {} differ", a.shape()[0], b.shape()[0]);
    return sum(mul(a, b));
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);

  int64_t n = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  int64_t k2 = b.shape()[b.dim() - 2], m = b.shape()[b.dim() - 1];
  QATD_CHECK(k == k2, "matmul: inner dimensions differ: {} @ {}", shape_str(a.shape()), shape_str(b.shape()));
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  int64_t batch_count = numel_of(batch);
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(m);

  // (..., n, k) @ (k, m): fold the batch into rows, one large GEMM.
  if (b.dim() == 2 && a.dim() > 2) {
    Tensor rows = a.reshape({batch_count * n, k}).unsqueeze(0);
    return batched_matmul(rows, b.unsqueeze(0)).reshape(out_shape);
  }
  auto as_batch = [&](const Tensor& t, const Shape& own_batch, int64_t rows, int64_t cols) {
    if (numel_of(own_batch) == 1) return t.reshape({1, rows, cols});
    Shape expanded = batch;
    expanded.push_back(rows);
    expanded.push_back(cols);
    return t.expand(expanded).reshape({batch_count, rows, cols});
  };
  return batched_matmul(as_batch(a, batch_a, n, k), as_batch(b, batch_b, k, m)).reshape(out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ops_detail::check_defined("linear", x, "input");
  ops_detail::check_defined("linear", weight, "weight");
  ops_detail::check_same_dtype("linear", x, weight);
  ops_detail::check_floating("linear", x);
  QATD_CHECK(weight.dim() == 2, "linear: weight must be (out_features, in_features), got {}",
             shape_str(weight.shape()));
  QATD_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1],
             "linear: input of shape {} does not end in in_features = {} (weight {})", shape_str(x.shape()),
             weight.shape()[1], shape_str(weight.shape()));
  if (bias.defined()) {
    ops_detail::check_same_dtype("linear", x, bias);
    QATD_CHECK(bias.dim() == 1 && bias.shape()[0] == weight.shape()[0],
               "linear: bias must be ({}), got {}", weight.shape()[0], shape_str(bias.shape()));
  }
  int64_t in_features = weight.shape()[1], out_features = weight.shape()[0];
  Tensor rows = x.reshape({-1, in_features});
  int64_t count = rows.shape()[0];
  Shape out_shape = x.shape();
  out_shape.back() = out_features;

  Tensor out = empty({count, out_features}, x.dtype());
  GemmOperand input = as_operand(rows.unsqueeze(0)), w = as_operand(weight.unsqueeze(0));
  dispatch_floating(x.dtype(), "linear", [&]<typename T>() {
    T beta = T(0);
    if (bias.defined()) {
      // Start from the bias in every row, then accumulate the product onto it.
      NoGradGuard no_grad;
      out.copy_(bias.detach());
      beta = T(1);
    }
    kernels::cpu::gemm<T>(input.transposed, !w.transposed, count, out_features, in_features, T(1),
                          input.storage.data<T>(), input.leading, w.storage.data<T>(), w.leading, beta, out.data<T>(),
                          out_features);
  });
  out = out.view(out_shape);
  if (needs_grad({x, weight, bias})) {
    SavedTensor saved_rows(weight.requires_grad() ? rows : Tensor());
    SavedTensor saved_weight(x.requires_grad() ? weight : Tensor());
    bool bias_grad = bias.defined() && bias.requires_grad();
    Shape x_shape = x.shape();
    record("linear", {x, weight, bias}, out,
           [saved_rows, saved_weight, bias_grad, x_shape, out_features](const Tensor& g) {
             Tensor upstream = g.reshape({-1, out_features}).unsqueeze(0);
             Tensor grad_x, grad_weight, grad_bias;
             if (saved_weight.defined()) {
               grad_x = batched_product(upstream, saved_weight.get().unsqueeze(0)).reshape(x_shape);
             }
             if (saved_rows.defined()) {
               grad_weight = batched_product(upstream.transpose(1, 2), saved_rows.get().unsqueeze(0)).squeeze(0);
             }
             if (bias_grad) grad_bias = sum(upstream.squeeze(0), {0});
             return std::vector<Tensor>{grad_x, grad_weight, grad_bias};
           });
  }
  return out;
}

}  // namespace qatd
