// Learned bitwidths on a small synthetic student/teacher pair: per-site distillation (MSE between the
// student's and the teacher's layer outputs) plus the bit penalty, trained on the bits alone. With
// lambda = 0 the distillation loss must push some b_i up from a low start (the bits receive a real
// task gradient, not only the penalty's); with a large lambda every b_i must go down.
#include <catch2/catch.hpp>

#include <cstdio>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "engine/optim/optim.h"
#include "quant/bit_penalty.h"
#include "quant/quantization_plan.h"

namespace qatd::quant {
namespace {

// Records the output of every Linear layer of an MLP on each forward.
class LayerOutputs {
 public:
  explicit LayerOutputs(nn::MLP& mlp) {
    for (size_t i = 0; i < mlp.layers->size(); ++i) {
      nn::Module& layer = (*mlp.layers)[i];
      layer.register_forward_hook([this, i](nn::Module&, const Tensor& output) {
        outputs[i] = output;
        return Tensor();
      });
    }
    outputs.resize(mlp.layers->size());
  }
  std::vector<Tensor> outputs;
};

struct Trajectory {
  std::vector<double> initial, final;
  double first_kd = 0.0, last_kd = 0.0;
};

Trajectory train_bits(Surrogate surrogate, double lambda) {
  Generator generator(17);
  nn::MLP teacher(8, 24, 8, 3, nn::Activation::relu, false, &generator);
  nn::MLP student(8, 24, 8, 3, nn::Activation::relu, false, &generator);
  student.load_state_dict(teacher.state_dict());
  Tensor x = randn({64, 8}, DType::f32, &generator);

  QuantizationPlan plan;
  plan.source = "student plan";
  PlanRule rule;
  rule.pattern = "layers.*";
  rule.weights = true;
  rule.settings.bits_init = 3.0;
  rule.settings.bits_min = 2.0;
  rule.settings.bits_max = 8.0;
  rule.settings.surrogate = surrogate;
  plan.rules.push_back(rule);
  QuantizedModel quantized = apply_plan(student, plan);
  BitController& bits = quantized.bits();
  REQUIRE(bits.size() == 3);

  LayerOutputs teacher_outputs(teacher), student_outputs(student);
  {
    NoGradGuard no_grad;
    teacher(x);
  }
  optim::Adam optimizer(bits.parameters(), {.lr = 0.05});
  Importance importance = uniform_importance(bits.names());
  Trajectory trajectory;
  for (size_t i = 0; i < bits.size(); ++i) trajectory.initial.push_back(bits.value(i));
  const int steps = 40;
  for (int step = 0; step < steps; ++step) {
    bits.set_step(step);
    student(x);
    std::vector<Tensor> kd;
    for (size_t i = 0; i < bits.size(); ++i) {
      kd.push_back(mse_loss(student_outputs.outputs[i], teacher_outputs.outputs[i]));
    }
    Tensor kd_per_site = stack(kd);
    BitPenalty penalty = bit_penalty(kd_per_site, bits, importance, {.lambda = lambda});
    double kd_total = kd_per_site.sum().item();
    if (step == 0) trajectory.first_kd = kd_total;
    trajectory.last_kd = kd_total;
    optimizer.zero_grad();
    penalty.total.backward();
    for (const Tensor& b : bits.parameters()) REQUIRE(b.grad().defined());
    optimizer.step();
    bits.clamp_();
  }
  for (size_t i = 0; i < bits.size(); ++i) trajectory.final.push_back(bits.value(i));
  std::printf("%-6s lambda %-5g b: [%s] -> [%s], distillation loss %.4e -> %.4e\n", to_string(surrogate).c_str(),
              lambda, fmt::format("{:.3f}", fmt::join(trajectory.initial, ", ")).c_str(),
              fmt::format("{:.3f}", fmt::join(trajectory.final, ", ")).c_str(), trajectory.first_kd,
              trajectory.last_kd);
  return trajectory;
}

}  // namespace

TEST_CASE("student/teacher: the distillation loss raises bits at lambda = 0, a large lambda lowers them all",
          "[quant]") {
  for (Surrogate surrogate : {Surrogate::interp, Surrogate::ste}) {
    INFO("surrogate " << to_string(surrogate));
    Trajectory free = train_bits(surrogate, 0.0);
    double highest = *std::max_element(free.final.begin(), free.final.end());
    CHECK(highest >= 3.5);                  // some b_i rose by half a bit or more
    CHECK(free.last_kd < free.first_kd);    // and the distillation loss fell with it

    Trajectory penalized = train_bits(surrogate, 10.0);
    for (size_t i = 0; i < penalized.final.size(); ++i) CHECK(penalized.final[i] < penalized.initial[i] - 0.5);
  }
}

}  // namespace qatd::quant
