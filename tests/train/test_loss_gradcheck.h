#pragma once
// A float64 finite-difference check for the training losses: each loss is a scalar function of a few
// leaf tensors, so central differences of every input element against one backward pass are cheap.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace qatd::testing {

struct GradcheckResult {
  double worst_ratio = 0.0;  // max over elements of |numeric - analytic| / (atol + rtol |numeric|); <= 1 passes
  double max_abs_error = 0.0;
};

// `loss` rebuilds the scalar loss from `inputs` (f64 leaves that require grad). Prints one line.
inline GradcheckResult loss_gradcheck(const std::string& name, const std::function<Tensor()>& loss,
                                      const std::vector<Tensor>& inputs, double step = 1e-6, double atol = 1e-7,
                                      double rtol = 1e-5) {
  for (const Tensor& input : inputs) input.set_grad(Tensor());
  loss().backward();
  GradcheckResult result;
  for (const Tensor& input : inputs) {
    std::vector<double> analytic = input.grad().defined() ? input.grad().to_vector<double>()
                                                          : std::vector<double>(input.numel(), 0.0);
    double* values = input.data<double>();
    for (int64_t i = 0; i < input.numel(); ++i) {
      double original = values[i];
      double plus = 0.0, minus = 0.0;
      {
        NoGradGuard no_grad;
        values[i] = original + step;
        input.bump_version();
        plus = loss().item();
        values[i] = original - step;
        input.bump_version();
        minus = loss().item();
        values[i] = original;
        input.bump_version();
      }
      double numeric = (plus - minus) / (2.0 * step);
      double error = std::abs(numeric - analytic[i]);
      result.max_abs_error = std::max(result.max_abs_error, error);
      result.worst_ratio = std::max(result.worst_ratio, error / (atol + rtol * std::abs(numeric)));
    }
  }
  std::printf("%s float64 gradcheck: max |numeric - analytic| %.3e, worst error / tolerance %.3e "
              "(tolerance %.0e + %.0e |numeric|, step %.0e)\n",
              name.c_str(), result.max_abs_error, result.worst_ratio, atol, rtol, step);
  return result;
}

// A standard-normal f64 leaf that requires grad, reproducible from `seed`.
inline Tensor random_leaf(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator generator(seed);
  Tensor values = randn(shape, DType::f64, &generator) * scale;
  return values.detach().contiguous().set_requires_grad(true);
}

}  // namespace qatd::testing
