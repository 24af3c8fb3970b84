#include "engine/ops/elementwise.h"

#include <limits>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/binary.h"
#include "kernels/cpu/unary.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using kernels::cpu::BinaryOp;
using kernels::cpu::CompareOp;
using kernels::cpu::UnaryOp;
using ops_detail::broadcast_strides;
using ops_detail::check_defined;
using ops_detail::check_same_dtype;

namespace {

bool is_float_op(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::square:
    case UnaryOp::add_scalar:
    case UnaryOp::mul_scalar:
    case UnaryOp::clamp: return false;
    default: return true;
  }
}

// Runs a unary kernel; no autograd here.
Tensor unary_kernel(std::string_view name, UnaryOp op, const Tensor& x, double alpha = 0.0, double beta = 0.0) {
  check_defined(name, x, "input");
  Tensor out = empty(x.shape(), x.dtype());
  auto run = [&]<typename T>() {
    kernels::cpu::unary<T>(op, x.shape(), out.data<T>(), out.strides(), x.data<T>(), x.strides(), alpha, beta);
  };
  if (is_float_op(op)) {
    dispatch_floating(x.dtype(), name, run);
  } else {
    dispatch_numeric(x.dtype(), name, run);
  }
  return out;
}

Tensor binary_kernel(std::string_view name, BinaryOp op, const Tensor& a, const Tensor& b) {
  check_defined(name, a, "first operand");
  check_defined(name, b, "second operand");
  check_same_dtype(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, a.dtype());
  Shape a_strides = broadcast_strides(a, shape), b_strides = broadcast_strides(b, shape);
  auto run = [&]<typename T>() {
    kernels::cpu::binary<T>(op, shape, out.data<T>(), out.strides(), a.data<T>(), a_strides, b.data<T>(), b_strides);
  };
  bool integer_ok = op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::maximum ||
                    op == BinaryOp::minimum;
  if (integer_ok) {
    dispatch_numeric(a.dtype(), name, run);
  } else {
    dispatch_floating(a.dtype(), name, run);
  }
  return out;
}

Tensor compare_kernel(std::string_view name, CompareOp op, const Tensor& a, const Tensor& b) {
  check_defined(name, a, "first operand");
  check_defined(name, b, "second operand");
  check_same_dtype(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, DType::boolean);
  Shape a_strides = broadcast_strides(a, shape), b_strides = broadcast_strides(b, shape);
  auto run = [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      fail("{}: dtype {} is not supported (convert with .to())", name, a.dtype());
    } else {
      kernels::cpu::compare<T>(op, shape, out.data<bool>(), out.strides(), a.data<T>(), a_strides, b.data<T>(),
                               b_strides);
    }
  };
  dispatch_all(a.dtype(), run);
  return out;
}

Tensor scalar_like(double value, const Tensor& like) { return scalar_tensor(value, like.dtype()); }

// A differentiable unary op whose backward needs nothing but the upstream gradient and what
// `backward` captured.
Tensor unary_with_grad(const char* name, UnaryOp op, const Tensor& x, autograd::BackwardFn backward,
                       double alpha = 0.0, double beta = 0.0) {
  Tensor out = unary_kernel(name, op, x, alpha, beta);
  if (needs_grad({x})) record(name, {x}, out, std::move(backward));
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("add", BinaryOp::add, a, b);
  if (needs_grad({a, b})) {
    record("add", {a, b}, out, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("sub", BinaryOp::sub, a, b);
  if (needs_grad({a, b})) {
    record("sub", {a, b}, out, [](const Tensor& g) { return std::vector<Tensor>{g, neg(g)}; });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("mul", BinaryOp::mul, a, b);
  if (needs_grad({a, b})) {
    // Each factor is saved only when the other one needs its gradient.
    SavedTensor saved_a(b.requires_grad() ? a : Tensor());
    SavedTensor saved_b(a.requires_grad() ? b : Tensor());
    record("mul", {a, b}, out, [saved_a, saved_b](const Tensor& g) {
      Tensor grad_a = saved_b.defined() ? mul(g, saved_b.get()) : Tensor();
      Tensor grad_b = saved_a.defined() ? mul(g, saved_a.get()) : Tensor();
      return std::vector<Tensor>{grad_a, grad_b};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("div", BinaryOp::div, a, b);
  if (needs_grad({a, b})) {
    SavedTensor saved_b(b), saved_out(b.requires_grad() ? out : Tensor());
    record("div", {a, b}, out, [saved_b, saved_out](const Tensor& g) {
      Tensor denominator = saved_b.get();
      Tensor grad_a = div(g, denominator);
      Tensor grad_b = saved_out.defined() ? neg(mul(grad_a, saved_out.get())) : Tensor();
      return std::vector<Tensor>{grad_a, grad_b};
    });
  }
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  Tensor out = binary_kernel("pow", BinaryOp::pow, base, exponent);
  if (needs_grad({base, exponent})) {
    SavedTensor saved_base(base), saved_exponent(exponent), saved_out(out);
    record("pow", {base, exponent}, out, [saved_base, saved_exponent, saved_out](const Tensor& g) {
      Tensor x = saved_base.get(), y = saved_exponent.get();
      Tensor grad_base = mul(g, mul(y, pow(x, sub(y, scalar_like(1.0, y)))));
      Tensor grad_exponent = mul(g, mul(saved_out.get(), log(x)));
      return std::vector<Tensor>{grad_base, grad_exponent};
    });
  }
  return out;
}

namespace {

// maximum/minimum: the selected operand gets the gradient; a tie gives each half.
Tensor extremum(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(name, op, a, b);
  if (needs_grad({a, b})) {
    SavedTensor saved_a(a), saved_b(b);
    bool is_max = op == BinaryOp::maximum;
    record(name, {a, b}, out, [saved_a, saved_b, is_max](const Tensor& g) {
      Tensor x = saved_a.get(), y = saved_b.get();
      Tensor a_wins = (is_max ? gt(x, y) : lt(x, y)).to(g.dtype());
      Tensor tie = eq(x, y).to(g.dtype());
      Tensor share_a = add(a_wins, mul(tie, 0.5));
      Tensor share_b = sub(sub(ones_like(share_a), a_wins), mul(tie, 0.5));
      return std::vector<Tensor>{mul(g, share_a), mul(g, share_b)};
    });
  }
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", BinaryOp::minimum, a, b); }

Tensor add(const Tensor& a, double b) {
  return unary_with_grad("add_scalar", UnaryOp::add_scalar, a, [](const Tensor& g) { return std::vector<Tensor>{g}; },
                         b);
}

Tensor mul(const Tensor& a, double b) {
  return unary_with_grad("mul_scalar", UnaryOp::mul_scalar, a,
                         [b](const Tensor& g) { return std::vector<Tensor>{mul(g, b)}; }, b);
}

Tensor div(const Tensor& a, double b) {
  return unary_with_grad("div_scalar", UnaryOp::div_scalar, a,
                         [b](const Tensor& g) { return std::vector<Tensor>{div(g, b)}; }, b);
}

Tensor pow(const Tensor& base, double exponent) {
  Tensor out = unary_kernel("pow", UnaryOp::pow_scalar, base, exponent);
  if (needs_grad({base})) {
    SavedTensor saved_base(base);
    record("pow_scalar", {base}, out, [saved_base, exponent](const Tensor& g) {
      if (exponent == 0.0) return std::vector<Tensor>{zeros_like(g)};
      return std::vector<Tensor>{mul(g, mul(pow(saved_base.get(), exponent - 1.0), exponent))};
    });
  }
  return out;
}

Tensor pow(double base, const Tensor& exponent) {
  Tensor out = unary_kernel("pow", UnaryOp::rpow_scalar, exponent, base);
  if (needs_grad({exponent})) {
    SavedTensor saved_out(out);
    double log_base = std::log(base);
    record("rpow_scalar", {exponent}, out, [saved_out, log_base](const Tensor& g) {
      return std::vector<Tensor>{mul(g, mul(saved_out.get(), log_base))};
    });
  }
  return out;
}

Tensor neg(const Tensor& x) {
  return unary_with_grad("neg", UnaryOp::neg, x, [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; });
}

Tensor abs(const Tensor& x) {
  Tensor out = unary_kernel("abs", UnaryOp::abs, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("abs", {x}, out, [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, sign(saved.get()))}; });
  }
  return out;
}

Tensor sign(const Tensor& x) {
  return unary_with_grad("sign", UnaryOp::sign, x,
                         [](const Tensor& g) { return std::vector<Tensor>{zeros_like(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_kernel("exp", UnaryOp::exp, x);
  if (needs_grad({x})) {
    SavedTensor saved(out);
    record("exp", {x}, out, [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, saved.get())}; });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_kernel("log", UnaryOp::log, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("log", {x}, out, [saved](const Tensor& g) { return std::vector<Tensor>{div(g, saved.get())}; });
  }
  return out;
}

Tensor log1p(const Tensor& x) {
  Tensor out = unary_kernel("log1p", UnaryOp::log1p, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("log1p", {x}, out,
           [saved](const Tensor& g) { return std::vector<Tensor>{div(g, add(saved.get(), 1.0))}; });
  }
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_kernel("sqrt", UnaryOp::sqrt, x);
  if (needs_grad({x})) {
    SavedTensor saved(out);
    record("sqrt", {x}, out,
           [saved](const Tensor& g) { return std::vector<Tensor>{div(g, mul(saved.get(), 2.0))}; });
  }
  return out;
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = unary_kernel("rsqrt", UnaryOp::rsqrt, x);
  if (needs_grad({x})) {
    SavedTensor saved(out);
    record("rsqrt", {x}, out, [saved](const Tensor& g) {
      Tensor y = saved.get();
      return std::vector<Tensor>{mul(g, mul(pow(y, 3.0), -0.5))};
    });
  }
  return out;
}

Tensor sin(const Tensor& x) {
  Tensor out = unary_kernel("sin", UnaryOp::sin, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("sin", {x}, out, [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, cos(saved.get()))}; });
  }
  return out;
}

Tensor cos(const Tensor& x) {
  Tensor out = unary_kernel("cos", UnaryOp::cos, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("cos", {x}, out,
           [saved](const Tensor& g) { return std::vector<Tensor>{neg(mul(g, sin(saved.get())))}; });
  }
  return out;
}

namespace {

// Ops whose derivative product is one fused kernel of (saved, upstream gradient).
Tensor unary_with_fused_backward(const char* name, UnaryOp op, BinaryOp derivative, const Tensor& x,
                                 bool save_output) {
  Tensor out = unary_kernel(name, op, x);
  if (needs_grad({x})) {
    SavedTensor saved(save_output ? out : x);
    record(name, {x}, out, [saved, derivative, name](const Tensor& g) {
      return std::vector<Tensor>{binary_kernel(name, derivative, saved.get(), g.contiguous())};
    });
  }
  return out;
}

}  // namespace

Tensor tanh(const Tensor& x) {
  return unary_with_fused_backward("tanh", UnaryOp::tanh, BinaryOp::tanh_backward, x, true);
}

Tensor sigmoid(const Tensor& x) {
  return unary_with_fused_backward("sigmoid", UnaryOp::sigmoid, BinaryOp::sigmoid_backward, x, true);
}

Tensor relu(const Tensor& x) {
  return unary_with_fused_backward("relu", UnaryOp::relu, BinaryOp::relu_backward, x, true);
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  if (approximate == "none") {
    return unary_with_fused_backward("gelu", UnaryOp::gelu, BinaryOp::gelu_backward, x, false);
  }
  QATD_CHECK(approximate == "tanh", "gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  return unary_with_fused_backward("gelu_tanh", UnaryOp::gelu_tanh, BinaryOp::gelu_tanh_backward, x, false);
}

Tensor erf(const Tensor& x) {
  return unary_with_fused_backward("erf", UnaryOp::erf, BinaryOp::erf_backward, x, false);
}

Tensor reciprocal(const Tensor& x) {
  Tensor out = unary_kernel("reciprocal", UnaryOp::reciprocal, x);
  if (needs_grad({x})) {
    SavedTensor saved(out);
    record("reciprocal", {x}, out, [saved](const Tensor& g) {
      Tensor y = saved.get();
      return std::vector<Tensor>{neg(mul(g, mul(y, y)))};
    });
  }
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = unary_kernel("square", UnaryOp::square, x);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("square", {x}, out,
           [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, mul(saved.get(), 2.0))}; });
  }
  return out;
}

namespace {

Tensor rounding(const char* name, UnaryOp op, const Tensor& x) {
  return unary_with_grad(name, op, x, [](const Tensor& g) { return std::vector<Tensor>{zeros_like(g)}; });
}

}  // namespace

Tensor floor(const Tensor& x) { return rounding("floor", UnaryOp::floor, x); }
Tensor ceil(const Tensor& x) { return rounding("ceil", UnaryOp::ceil, x); }
Tensor round(const Tensor& x) { return rounding("round", UnaryOp::round, x); }
Tensor trunc(const Tensor& x) { return rounding("trunc", UnaryOp::trunc, x); }

Tensor softplus(const Tensor& x) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = add(log1p(exp(neg(abs(x)))), relu(x));
  }
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("softplus", {x}, out, [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, sigmoid(saved.get()))}; });
  }
  return out;
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  double low = min.value_or(-std::numeric_limits<double>::infinity());
  double high = max.value_or(std::numeric_limits<double>::infinity());
  QATD_CHECK(!(low > high), "clamp: min {} is greater than max {}", low, high);
  if (is_integral(x.dtype())) {
    low = std::max(low, -9.2e18);
    high = std::min(high, 9.2e18);
  }
  Tensor out = unary_kernel("clamp", UnaryOp::clamp, x, low, high);
  if (needs_grad({x})) {
    SavedTensor saved(x);
    record("clamp", {x}, out, [saved, low, high](const Tensor& g) {
      Tensor input = saved.get();
      Tensor inside = logical_and(ge(input, low), le(input, high));
      return std::vector<Tensor>{mul(g, inside.to(g.dtype()))};
    });
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_defined("where", condition, "condition");
  check_defined("where", a, "first value");
  check_defined("where", b, "second value");
  QATD_CHECK(condition.dtype() == DType::boolean, "where: condition must be bool, got {}", condition.dtype());
  check_same_dtype("where", a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, a.dtype());
  Shape c_strides = broadcast_strides(condition, shape), a_strides = broadcast_strides(a, shape),
        b_strides = broadcast_strides(b, shape);
  dispatch_all(a.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                  std::is_same_v<T, int64_t> || std::is_same_v<T, bool>) {
      kernels::cpu::where<T>(shape, out.data<T>(), out.strides(), condition.data<bool>(), c_strides, a.data<T>(),
                             a_strides, b.data<T>(), b_strides);
    } else {
      fail("where: dtype {} is not supported", a.dtype());
    }
  });
  if (needs_grad({a, b})) {
    SavedTensor saved_condition(condition);
    record("where", {a, b}, out, [saved_condition](const Tensor& g) {
      Tensor c = saved_condition.get();
      Tensor zero = zeros({}, g.dtype());
      return std::vector<Tensor>{where(c, g, zero), where(c, zero, g)};
    });
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, double b) {
  check_defined("where", a, "first value");
  return where(condition, a, scalar_like(b, a));
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_defined("masked_fill", x, "input");
  check_defined("masked_fill", mask, "mask");
  QATD_CHECK(mask.dtype() == DType::boolean, "masked_fill: mask must be bool, got {}", mask.dtype());
  QATD_CHECK(is_broadcastable_to(mask.shape(), x.shape()), "masked_fill: mask of shape {} does not broadcast to {}",
             shape_str(mask.shape()), shape_str(x.shape()));
  return where(mask, scalar_like(value, x), x);
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare_kernel("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_kernel("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_kernel("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_kernel("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_kernel("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_kernel("ge", CompareOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(b, a)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(b, a)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(b, a)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(b, a)); }

Tensor logical_not(const Tensor& x) {
  QATD_CHECK(x.dtype() == DType::boolean, "logical_not: needs a bool tensor, got {}", x.dtype());
  return eq(x, scalar_tensor(0.0, DType::boolean));
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  QATD_CHECK(a.dtype() == DType::boolean && b.dtype() == DType::boolean, "logical_and: needs bool tensors, got {} and {}",
             a.dtype(), b.dtype());
  return where(a, b, scalar_tensor(0.0, DType::boolean));
}

Tensor logical_or(const Tensor& a, const Tensor& b) {
  QATD_CHECK(a.dtype() == DType::boolean && b.dtype() == DType::boolean, "logical_or: needs bool tensors, got {} and {}",
             a.dtype(), b.dtype());
  return where(a, scalar_tensor(1.0, DType::boolean), b);
}

Tensor isfinite(const Tensor& x) {
  check_defined("isfinite", x, "input");
  if (is_integral(x.dtype())) return ones(x.shape(), DType::boolean);
  Tensor magnitude = unary_kernel("isfinite", UnaryOp::abs, x.to(DType::f64));
  return lt(magnitude, std::numeric_limits<double>::infinity());
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator/(double a, const Tensor& b) { return mul(reciprocal(b), a); }

}  // namespace qatd
