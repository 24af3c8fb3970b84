// (a) of the op table: for every differentiable case, the full Jacobian from backward (one
// one-hot upstream gradient per output element) against central finite differences, in float64.
#include <cmath>
#include <cstdio>

#include <catch2/catch.hpp>

#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

struct JacobianError {
  double max_abs = 0.0;    // largest |numeric - analytic|
  double max_excess = 0.0; // largest |numeric - analytic| - (atol + rtol |numeric|); > 0 fails
};

std::vector<double> flat_values(const Tensor& tensor) { return tensor.to(DType::f64).to_vector<double>(); }

JacobianError check_jacobian(const OpCase& op_case) {
  std::vector<Tensor> inputs = make_inputs(op_case, DType::f64);
  std::vector<size_t> differentiable;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (op_case.inputs[k].differentiable && is_floating(inputs[k].dtype())) differentiable.push_back(k);
  }
  Tensor output;
  {
    NoGradGuard no_grad;
    output = op_case.run(inputs);
  }
  const int64_t outputs = output.numel();

  // Numeric columns, one per differentiable input element.
  std::vector<std::vector<double>> numeric;  // [input element][output element]
  for (size_t k : differentiable) {
    double* values = inputs[k].data<double>();
    for (int64_t j = 0; j < inputs[k].numel(); ++j) {
      double saved = values[j];
      NoGradGuard no_grad;
      values[j] = saved + op_case.jacobian_step;
      std::vector<double> plus = flat_values(op_case.run(inputs));
      values[j] = saved - op_case.jacobian_step;
      std::vector<double> minus = flat_values(op_case.run(inputs));
      values[j] = saved;
      std::vector<double> column(outputs);
      for (int64_t i = 0; i < outputs; ++i) column[i] = (plus[i] - minus[i]) / (2.0 * op_case.jacobian_step);
      numeric.push_back(std::move(column));
    }
  }

  // Analytic rows, one backward per output element.
  for (size_t k : differentiable) inputs[k].set_requires_grad(true);
  Tensor recorded = op_case.run(inputs);
  REQUIRE(recorded.requires_grad());
  JacobianError error;
  for (int64_t i = 0; i < outputs; ++i) {
    for (size_t k : differentiable) inputs[k].set_grad(Tensor());
    std::vector<double> seed(outputs, 0.0);
    seed[i] = 1.0;
    recorded.backward(from_vector(seed, recorded.shape()), /*retain_graph=*/true);
    size_t column = 0;
    for (size_t k : differentiable) {
      Tensor grad = inputs[k].grad();
      std::vector<double> row = grad.defined() ? flat_values(grad) : std::vector<double>(inputs[k].numel(), 0.0);
      for (int64_t j = 0; j < inputs[k].numel(); ++j, ++column) {
        double expected = numeric[column][i];
        double difference = std::abs(expected - row[j]);
        if (std::isnan(row[j]) != std::isnan(expected)) difference = INFINITY;
        error.max_abs = std::max(error.max_abs, difference);
        error.max_excess = std::max(
            error.max_excess, difference - (op_case.jacobian_atol + op_case.jacobian_rtol * std::abs(expected)));
      }
    }
  }
  return error;
}

}  // namespace

TEST_CASE("every differentiable op: backward equals the finite-difference Jacobian (float64)", "[ops][gradcheck]") {
  REQUIRE(!op_cases().empty());
  std::printf("%-40s %12s %12s %12s\n", "op case", "max |err|", "atol", "rtol");
  for (const OpCase& op_case : op_cases()) {
    if (!op_case.differentiable || !op_case.finite_difference) continue;
    INFO("op case: " << op_case.name);
    JacobianError error = check_jacobian(op_case);
    std::printf("%-40s %12.3e %12.1e %12.1e%s\n", op_case.name.c_str(), error.max_abs, op_case.jacobian_atol,
                op_case.jacobian_rtol, error.max_excess > 0 ? "  FAIL" : "");
    CHECK(error.max_excess <= 0.0);
  }
}

}  // namespace qatd::testing
