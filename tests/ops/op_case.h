#pragma once
// The op table that drives every op test, in the style of ggml's test-backend-ops: each case
// names an op application, the inputs it takes and how to check it. The same table runs
//   (a) the float64 Jacobian check (finite differences against backward, test_gradcheck.cpp),
//   (b) the float32 comparison with PyTorch fixtures (test_torch_parity.cpp), and
//   (c) later, CUDA against CPU.
// A case's name is also its key prefix in tests/fixtures/ops/FAMILY.safetensors, written by
// tools/make_op_fixtures.py from tools/op_fixtures/FAMILY.py, which defines the same case in
// PyTorch (FAMILY matches tests/ops/cases_FAMILY.cpp).
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace qatd::testing {

struct InputSpec {
  enum class Kind {
    normal,    // standard normal
    uniform,   // uniform in [low, high)
    away,      // uniform magnitude in [low, high) with a random sign: keeps clear of kinks at 0
    index,     // integers in [low, high) (i64), never differentiated
    mask,      // bool, true with probability `low`
  };
  Shape shape;
  Kind kind = Kind::normal;
  double low = 0.0;
  double high = 1.0;
  bool differentiable = true;  // floating inputs only

  static InputSpec normal(Shape shape) { return {std::move(shape), Kind::normal, 0.0, 1.0, true}; }
  static InputSpec uniform(Shape shape, double low, double high) {
    return {std::move(shape), Kind::uniform, low, high, true};
  }
  static InputSpec away(Shape shape, double low = 0.2, double high = 1.5) {
    return {std::move(shape), Kind::away, low, high, true};
  }
  static InputSpec index(Shape shape, int64_t low, int64_t high) {
    return {std::move(shape), Kind::index, double(low), double(high), false};
  }
  static InputSpec mask(Shape shape, double probability = 0.5) {
    return {std::move(shape), Kind::mask, probability, 0.0, false};
  }
  InputSpec constant() const {
    InputSpec copy = *this;
    copy.differentiable = false;
    return copy;
  }
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> run;
  bool differentiable = true;      // false: forward only (comparisons, argmax, ...)
  // false where the op's gradient is deliberately not its Jacobian (embedding's padding_idx);
  // the PyTorch comparison still checks it.
  bool finite_difference = true;
  // Finite-difference Jacobian check in float64: |numeric - analytic| <= atol + rtol * |numeric|.
  double jacobian_atol = 1e-6;
  double jacobian_rtol = 1e-5;
  double jacobian_step = 1e-6;
  // Float32 against PyTorch: ||ours - torch|| / ||torch||.
  double forward_tolerance = 1e-5;
  double gradient_tolerance = 1e-4;
};

std::vector<OpCase>& op_cases();

// Adds cases to the table at static-initialization time: one per file of cases.
struct RegisterOpCases {
  explicit RegisterOpCases(std::vector<OpCase> cases);
};

// Fresh inputs for a case in `floating` dtype (f64 for Jacobians), seeded by the case name.
std::vector<Tensor> make_inputs(const OpCase& op_case, DType floating);

}  // namespace qatd::testing
