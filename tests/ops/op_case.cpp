#include "tests/ops/op_case.h"

#include <functional>

namespace qatd::testing {

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

RegisterOpCases::RegisterOpCases(std::vector<OpCase> cases) {
  for (OpCase& op_case : cases) op_cases().push_back(std::move(op_case));
}

std::vector<Tensor> make_inputs(const OpCase& op_case, DType floating) {
  Generator generator(std::hash<std::string>{}(op_case.name));
  std::vector<Tensor> inputs;
  for (const InputSpec& spec : op_case.inputs) {
    Tensor input;
    switch (spec.kind) {
      case InputSpec::Kind::normal: input = randn(spec.shape, DType::f64, &generator); break;
      case InputSpec::Kind::uniform:
        input = add(mul(rand(spec.shape, DType::f64, &generator), spec.high - spec.low), spec.low);
        break;
      case InputSpec::Kind::away: {
        Tensor magnitude = add(mul(rand(spec.shape, DType::f64, &generator), spec.high - spec.low), spec.low);
        Tensor negative = bernoulli(spec.shape, 0.5, &generator);
        input = where(negative, neg(magnitude), magnitude);
        break;
      }
      case InputSpec::Kind::index:
        input = randint(static_cast<int64_t>(spec.low), static_cast<int64_t>(spec.high), spec.shape, DType::i64,
                        &generator);
        break;
      case InputSpec::Kind::mask: input = bernoulli(spec.shape, spec.low, &generator); break;
    }
    if (is_floating(input.dtype())) input = input.to(floating);
    inputs.push_back(input);
  }
  return inputs;
}

}  // namespace qatd::testing
