// (b) of the op table: every case in float32 against PyTorch's forward and backward, from the
// fixtures tools/make_op_fixtures.py writes (PyTorch is never needed to run this test).
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/ops/op_case.h"
#include "tests/test_support.h"

namespace qatd::testing {
namespace {

double relative_error(const Tensor& ours, const Tensor& reference) { return difference(ours, reference).relative; }

}  // namespace

// Every fixture file under tests/fixtures/ops, one per family of cases.
std::vector<io::SafetensorsFile> open_fixtures() {
  std::vector<io::SafetensorsFile> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(QATD_TEST_DATA_DIR) + "/fixtures/ops")) {
    if (entry.path().extension() == ".safetensors") files.push_back(io::SafetensorsFile::open(entry.path().string()));
  }
  return files;
}

TEST_CASE("every op: float32 forward and backward equal PyTorch's", "[ops][torch]") {
  std::vector<io::SafetensorsFile> fixtures = open_fixtures();
  std::printf("%-40s %12s %12s %12s %12s\n", "op case", "fwd err", "fwd tol", "grad err", "grad tol");
  for (const OpCase& op_case : op_cases()) {
    INFO("op case: " << op_case.name << " (regenerate fixtures with tools/make_op_fixtures.py if missing)");
    auto holder = std::find_if(fixtures.begin(), fixtures.end(),
                               [&](const io::SafetensorsFile& file) { return file.contains(op_case.name + ".output"); });
    REQUIRE(holder != fixtures.end());
    const io::SafetensorsFile& fixture = *holder;
    std::vector<Tensor> inputs;
    for (size_t k = 0; k < op_case.inputs.size(); ++k) {
      Tensor input = fixture.get(op_case.name + ".input." + std::to_string(k)).clone();
      CHECK(input.shape() == op_case.inputs[k].shape);
      if (op_case.differentiable && op_case.inputs[k].differentiable) input.set_requires_grad(true);
      inputs.push_back(input);
    }
    Tensor output = op_case.run(inputs);
    Tensor expected = fixture.get(op_case.name + ".output");
    REQUIRE(output.shape() == expected.shape());
    double forward_error = relative_error(output, expected);
    double worst_gradient = 0.0;
    if (op_case.differentiable) {
      output.backward(fixture.get(op_case.name + ".grad_output").clone());
      for (size_t k = 0; k < inputs.size(); ++k) {
        if (!op_case.inputs[k].differentiable) continue;
        std::string key = op_case.name + ".grad." + std::to_string(k);
        REQUIRE(fixture.contains(key));
        Tensor grad = inputs[k].grad();
        Tensor reference = fixture.get(key);
        double error = grad.defined() ? relative_error(grad, reference) : relative_error(zeros_like(reference), reference);
        worst_gradient = std::max(worst_gradient, error);
      }
    }
    bool ok = forward_error <= op_case.forward_tolerance && worst_gradient <= op_case.gradient_tolerance;
    std::printf("%-40s %12.3e %12.1e %12.3e %12.1e%s\n", op_case.name.c_str(), forward_error,
                op_case.forward_tolerance, worst_gradient, op_case.gradient_tolerance, ok ? "" : "  FAIL");
    CHECK(forward_error <= op_case.forward_tolerance);
    CHECK(worst_gradient <= op_case.gradient_tolerance);
  }
}

}  // namespace qatd::testing
