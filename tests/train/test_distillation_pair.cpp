// The teacher/student pair: the teacher frozen and kept out of the graph, KD activations captured
// on both, the student's before its output fake quantization, and clear errors for sites that do
// not exist or do not run.
#include <set>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "tests/test_support.h"
#include "train/distillation_pair.h"

namespace qatd::train {
namespace {

quant::QuantizationPlan output_and_weight_plan() {
  return quant::QuantizationPlan::from_toml_text(R"(
[[quant.rules]]
pattern = "layers.*"
weights = true
bits_init = 3

[[quant.rules]]
pattern = "layers.0"
outputs = true
bits_init = 2
)",
                                                 "pair plan");
}

}  // namespace

TEST_CASE("distillation pair: teacher frozen, student quantized, activations captured before output fake quant",
          "[train]") {
  Generator generator(5);
  nn::MLP teacher(6, 10, 4, 2, nn::Activation::relu, false, &generator);
  nn::MLP student(6, 10, 4, 2, nn::Activation::relu, false, &generator);
  student.load_state_dict(teacher.state_dict());
  DistillationPair pair(teacher, student, output_and_weight_plan(), {"layers.0", "layers.1"});

  CHECK_FALSE(teacher.is_training());
  for (const auto& [name, parameter] : teacher.named_parameters()) {
    INFO(name);
    CHECK_FALSE(parameter.requires_grad());
  }
  REQUIRE(pair.quantized().sites().size() == 3);

  Tensor x = randn({5, 6}, DType::f32, &generator);
  Tensor teacher_out = pair.run_teacher([&](nn::Module& model) { return static_cast<nn::MLP&>(model)(x); });
  Tensor student_out = pair.run_student([&](nn::Module& model) { return static_cast<nn::MLP&>(model)(x); });
  CHECK_FALSE(teacher_out.requires_grad());
  CHECK(student_out.requires_grad());

  KdActivations kd = pair.kd_activations();
  REQUIRE(kd.sites == std::vector<std::string>{"layers.0", "layers.1"});
  // The teacher's first layer is the float Linear; the student's capture is its quantized-weight
  // Linear before the 2-bit output fake quant, which would leave at most 3 distinct values per column.
  auto& teacher_layer = static_cast<nn::Linear&>((*teacher.layers)[0]);
  Tensor teacher_expected = linear(x, teacher_layer.weight, teacher_layer.bias);
  testing::report_difference("teacher layers.0 capture vs linear(x)", kd.teacher[0], teacher_expected);
  CHECK(testing::difference(kd.teacher[0], teacher_expected).relative == 0.0);
  auto& student_layer = static_cast<nn::Linear&>((*student.layers)[0]);
  Tensor student_expected = linear(x, pair.quantized().site("layers.0.weight").quantizer->operator()(student_layer.weight),
                                   student_layer.bias);
  double captured_error = testing::report_difference("student layers.0 capture vs linear(x, Q(W))", kd.student[0],
                                                     student_expected);
  CHECK(captured_error <= 1e-6);
  std::vector<float> values = kd.student[0].to_vector<float>();
  std::set<float> distinct(values.begin(), values.end());
  CHECK(distinct.size() > 4);
  CHECK(kd.student[0].requires_grad());
  CHECK_FALSE(kd.teacher[0].requires_grad());
}

TEST_CASE("distillation pair: missing, repeated and silent KD sites are clear errors", "[train][errors]") {
  Generator generator(6);
  nn::MLP teacher(6, 10, 4, 2, nn::Activation::relu, false, &generator);
  nn::MLP student(6, 10, 4, 2, nn::Activation::relu, false, &generator);
  CHECK_THROWS_WITH(DistillationPair(teacher, student, output_and_weight_plan(), {"layers.0", "layer.1"}),
                    Catch::Contains("KD site 'layer.1' is not a module of the teacher") &&
                        Catch::Contains("nearest: 'layers.1'"));
  nn::MLP narrow_student(6, 10, 4, 1, nn::Activation::relu, false, &generator);
  CHECK_THROWS_WITH(DistillationPair(teacher, narrow_student, output_and_weight_plan(), {"layers.1"}),
                    Catch::Contains("KD site 'layers.1' is not a module of the student"));
  CHECK_THROWS_WITH(DistillationPair(teacher, student, output_and_weight_plan(), {"layers.0", "layers.0"}),
                    Catch::Contains("'layers.0' is listed twice"));

  DistillationPair pair(teacher, student, output_and_weight_plan(), {"layers.0", "layers.1"});
  Tensor x = randn({2, 6}, DType::f32, &generator);
  pair.run_teacher([&](nn::Module& model) { return static_cast<nn::MLP&>(model)(x); });
  // The student never ran this step: its sites produced nothing.
  pair.run_student([&](nn::Module&) { return Tensor(); });
  CHECK_THROWS_WITH(pair.kd_activations(), Catch::Contains("on the student: layers.0 (0 outputs), layers.1 (0 outputs)"));
}

}  // namespace qatd::train
