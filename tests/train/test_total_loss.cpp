// L_total regression: on given tensors the total and every logged component equal the formula
//   L_total = (1 - lambda_output) L_task + lambda_output L_kd_output + sum_i (L_kd_i + lambda b_i / importance_i)
// computed by hand; the gradients reaching each input; the terms that may be left out; bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "tests/train/test_loss_gradcheck.h"
#include "train/total_loss.h"

namespace qatd::train {

TEST_CASE("total_loss regression: L_total and its components match the formula on given tensors", "[train][loss]") {
  const double task = 1.75, kd_output = 0.625, mix = 0.3, lambda = 0.05;
  const std::vector<double> kd = {0.5, 0.125, 2.25};
  const std::vector<double> bits = {4.0, 6.5, 8.0};
  const std::vector<double> importance = {2.0, 0.5, 4.0};
  double kd_layer = 0.0, bit_term = 0.0;
  std::vector<double> bit_per_site;
  for (size_t i = 0; i < kd.size(); ++i) {
    kd_layer += kd[i];
    bit_term += lambda * bits[i] / importance[i];
    bit_per_site.push_back(kd[i] + lambda * bits[i] / importance[i]);
  }
  const double expected_total = (1.0 - mix) * task + mix * kd_output + kd_layer + bit_term;
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tolerance = dtype == DType::f32 ? 1e-6 : 1e-14;
    Tensor task_tensor = scalar_tensor(task, dtype).set_requires_grad(true);
    Tensor kd_output_tensor = scalar_tensor(kd_output, dtype).set_requires_grad(true);
    Tensor kd_tensor = from_vector(kd).to(dtype).set_requires_grad(true);
    Tensor bits_tensor = from_vector(bits).to(dtype).set_requires_grad(true);
    Tensor importance_tensor = from_vector(importance).to(dtype);
    LossComponents loss = total_loss({task_tensor, kd_output_tensor, kd_tensor, bits_tensor, importance_tensor},
                                     {.output_kd_mix = mix, .bit_penalty = {.lambda = lambda}});
    const std::pair<const char*, std::pair<Tensor, double>> scalars[] = {
        {"loss_total", {loss.loss_total, expected_total}}, {"loss_task", {loss.loss_task, task}},
        {"loss_kd_output", {loss.loss_kd_output, kd_output}}, {"loss_kd_layer", {loss.loss_kd_layer, kd_layer}},
        {"loss_bit", {loss.loss_bit, bit_term}}};
    for (const auto& [name, pair] : scalars) {
      const auto& [ours, expected] = pair;
      double error = std::abs(ours.item() - expected) / std::abs(expected);
      std::printf("total_loss %s (%s): %.9g vs %.9g by hand, relative error %.3e (tolerance %.0e)\n", name,
                  std::string(dtype_name(dtype)).c_str(), ours.item(), expected, error, tolerance);
      CHECK(ours.dim() == 0);
      CHECK(error <= tolerance);
    }
    CHECK(testing::report_difference("bit_per_site", loss.bit_per_site, from_vector(bit_per_site)) <= tolerance);
    CHECK(testing::report_difference("kd_per_site", loss.kd_per_site, from_vector(kd)) <= tolerance);
    // The logged parts add up to the total.
    double parts = (1.0 - mix) * loss.loss_task.item() + mix * loss.loss_kd_output.item() +
                   loss.loss_kd_layer.item() + loss.loss_bit.item();
    CHECK(parts == Approx(loss.loss_total.item()).epsilon(tolerance));

    loss.loss_total.backward();
    CHECK(task_tensor.grad().item() == Approx(1.0 - mix).epsilon(tolerance));
    CHECK(kd_output_tensor.grad().item() == Approx(mix).epsilon(tolerance));
    CHECK(testing::report_difference("dL/dL_kd_i = 1", kd_tensor.grad(), ones({3}, DType::f64)) <= tolerance);
    std::vector<double> bits_grad;
    for (size_t i = 0; i < kd.size(); ++i) bits_grad.push_back(lambda / importance[i]);
    CHECK(testing::report_difference("dL/db_i = lambda / importance_i", bits_tensor.grad(), from_vector(bits_grad)) <=
          tolerance);
  }
}

TEST_CASE("total_loss without bits, or with a pure mix, leaves the absent terms out", "[train][loss]") {
  Tensor kd = from_vector<double>({0.25, 0.5});
  LossComponents no_bits = total_loss({scalar_tensor(2.0, DType::f64), Tensor(), kd, Tensor(), Tensor()},
                                      {.output_kd_mix = 0.0});
  CHECK(no_bits.loss_total.item() == 2.75);
  CHECK(no_bits.loss_bit.item() == 0.0);
  CHECK(no_bits.loss_kd_output.item() == 0.0);
  // lambda_output = 1 drops the task term, even a non-finite one (no ground truth at all is fine too).
  LossComponents kd_only = total_loss(
      {scalar_tensor(std::nan(""), DType::f64), scalar_tensor(1.0, DType::f64), kd, Tensor(), Tensor()},
      {.output_kd_mix = 1.0});
  CHECK(kd_only.loss_total.item() == 1.75);
}

TEST_CASE("total_loss: float64 gradients equal finite differences", "[train][loss][gradcheck]") {
  Tensor task = testing::random_leaf({}, 21);
  Tensor kd_output = testing::random_leaf({}, 22);
  Tensor kd = testing::random_leaf({4}, 23);
  Tensor bits = testing::random_leaf({4}, 24) + 6.0;
  bits = bits.detach().set_requires_grad(true);
  Tensor importance = from_vector<double>({0.5, 1.0, 2.0, 3.0});
  TotalLossOptions options = {.output_kd_mix = 0.4,
                              .bit_penalty = {.lambda = 0.2, .normalization = quant::ImportanceNormalization::mean}};
  auto result = testing::loss_gradcheck(
      "total_loss", [&] { return total_loss({task, kd_output, kd, bits, importance}, options).loss_total; },
      {task, kd_output, kd, bits});
  CHECK(result.worst_ratio <= 1.0);
}

TEST_CASE("total_loss rejects bad input with a clear message", "[train][loss]") {
  using Catch::Contains;
  Tensor kd = zeros({3});
  Tensor one = scalar_tensor(1.0);
  REQUIRE_THROWS_WITH(total_loss({one, one, kd, Tensor(), Tensor()}, {.output_kd_mix = 1.5}),
                      Contains("output_kd_mix (lambda_output) must be in [0, 1]"));
  REQUIRE_THROWS_WITH(total_loss({Tensor(), one, kd, Tensor(), Tensor()}, {.output_kd_mix = 0.5}),
                      Contains("the task loss is undefined but its weight is 0.5"));
  REQUIRE_THROWS_WITH(total_loss({one, Tensor(), kd, Tensor(), Tensor()}, {.output_kd_mix = 0.5}),
                      Contains("the output KD loss is undefined"));
  REQUIRE_THROWS_WITH(total_loss({zeros({2}), one, kd, Tensor(), Tensor()}, {}), Contains("task loss must be a scalar"));
  REQUIRE_THROWS_WITH(total_loss({one, one, zeros({3, 1}), Tensor(), Tensor()}, {}),
                      Contains("per-site KD losses must be [S]"));
  REQUIRE_THROWS_WITH(total_loss({one, one, Tensor(), Tensor(), Tensor()}, {}),
                      Contains("per-site KD losses are undefined"));
  REQUIRE_THROWS_WITH(total_loss({one, one, kd, ones({3}), Tensor()}, {}), Contains("only the bits is given"));
  REQUIRE_THROWS_WITH(total_loss({one, one, kd, ones({2}), ones({2})}, {}),
                      Contains("the bits have shape [2] but the per-site KD losses [3]"));
  REQUIRE_THROWS_WITH(total_loss({one.to(DType::f64), one, kd, Tensor(), Tensor()}, {}), Contains("f64"));
  REQUIRE_THROWS_WITH(total_loss({one, one, kd, ones({3}), zeros({3})}, {.bit_penalty = {.lambda = 1.0}}),
                      Contains("bit_penalty: every importance must be positive"));
}

}  // namespace qatd::train
