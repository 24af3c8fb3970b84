// The bit penalty L_bit_i = L_kd_i + lambda b_i / importance_i: the formula on given tensors, its
// gradients, broadcasting, importance normalization and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "engine/engine.h"
#include "quant/bit_controller.h"
#include "quant/bit_penalty.h"
#include "tests/test_support.h"

namespace qatd::quant {

TEST_CASE("bit penalty regression: L_total matches the formula on given tensors", "[quant]") {
  const std::vector<double> kd = {0.5, 1.25, 0.03125, 2.0};
  const std::vector<double> bits = {4.0, 6.5, 3.0, 7.75};
  const std::vector<double> importance = {2.0, 1.0, 0.5, 4.0};
  const double lambda = 0.1;
  std::vector<double> expected_terms;
  double expected_total = 0.0;
  for (size_t i = 0; i < kd.size(); ++i) {
    expected_terms.push_back(kd[i] + lambda * bits[i] / importance[i]);
    expected_total += expected_terms.back();
  }
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tolerance = dtype == DType::f32 ? 1e-6 : 1e-14;
    Tensor kd_tensor = from_vector(kd).to(dtype).set_requires_grad(true);
    Tensor bits_tensor = from_vector(bits).to(dtype).set_requires_grad(true);
    Tensor importance_tensor = from_vector(importance).to(dtype).set_requires_grad(true);
    BitPenalty penalty = bit_penalty(kd_tensor, bits_tensor, importance_tensor, {.lambda = lambda});
    double total_error = std::abs(penalty.total.item() - expected_total) / expected_total;
    double terms_error = testing::report_difference(
        fmt::format("bit penalty per-site terms ({})", dtype_name(dtype)), penalty.per_site, from_vector(expected_terms));
    std::printf("bit penalty total (%s): relative error %.3e (tolerance %.0e)\n", std::string(dtype_name(dtype)).c_str(),
                total_error, tolerance);
    CHECK(penalty.total.dim() == 0);
    CHECK(total_error <= tolerance);
    CHECK(terms_error <= tolerance);

    penalty.total.backward();
    std::vector<double> bits_grad, importance_grad;
    for (size_t i = 0; i < kd.size(); ++i) {
      bits_grad.push_back(lambda / importance[i]);
      importance_grad.push_back(-lambda * bits[i] / (importance[i] * importance[i]));
    }
    CHECK(testing::report_difference("dL/dL_kd = 1", kd_tensor.grad(), ones({4}, DType::f64)) <= tolerance);
    CHECK(testing::report_difference("dL/db = lambda / importance", bits_tensor.grad(), from_vector(bits_grad)) <=
          tolerance);
    CHECK(testing::report_difference("dL/dimportance = -lambda b / importance^2", importance_tensor.grad(),
                                     from_vector(importance_grad)) <= tolerance);
  }
}

TEST_CASE("bit penalty broadcasts a scalar distillation loss or importance over the sites", "[quant]") {
  Tensor bits = from_vector<float>({3.0f, 5.0f});
  BitPenalty penalty = bit_penalty(scalar_tensor(1.0), bits, scalar_tensor(2.0), {.lambda = 0.5});
  CHECK(penalty.per_site.shape() == Shape{2});
  CHECK(penalty.per_site.to_vector<double>() == std::vector<double>{1.75, 2.25});
  CHECK(penalty.total.item() == 4.0);
}

TEST_CASE("bit penalty with mean normalization divides importances by their mean", "[quant]") {
  Tensor bits = from_vector<float>({4.0f, 4.0f, 4.0f});
  Tensor importance = from_vector<float>({1.0f, 2.0f, 3.0f});  // mean 2
  BitPenalty penalty = bit_penalty(zeros({3}), bits, importance,
                                   {.lambda = 1.0, .normalization = ImportanceNormalization::mean});
  std::vector<double> expected = {8.0, 4.0, 8.0 / 3.0};
  CHECK(testing::report_difference("normalized penalty", penalty.per_site, from_vector(expected)) <= 1e-6);
  // Scaling every importance leaves the normalized penalty unchanged.
  BitPenalty scaled = bit_penalty(zeros({3}), bits, importance * 1000.0,
                                  {.lambda = 1.0, .normalization = ImportanceNormalization::mean});
  CHECK(testing::report_difference("normalized penalty, importances x1000", scaled.per_site, penalty.per_site) <=
        1e-6);
}

TEST_CASE("bit penalty over a controller matches importances to its sites by name", "[quant]") {
  BitController controller;
  controller.add_site("a.weight", 4, 2, 8);
  controller.add_site("b.weight", 6, 2, 8);
  Importance importance{{"b.weight", "a.weight"}, {3.0, 0.5}};
  BitPenalty penalty = bit_penalty(from_vector<float>({0.25f, 0.5f}), controller, importance, {.lambda = 2.0});
  CHECK(penalty.per_site.to_vector<double>() == std::vector<double>{0.25 + 2.0 * 4 / 0.5, 0.5 + 2.0 * 6 / 3.0});
  penalty.total.backward();
  CHECK(controller.bits(0).grad().item() == 4.0);
  CHECK(controller.bits(1).grad().item() == Approx(2.0 / 3.0).epsilon(1e-6));

  Importance wrong{{"a.weight", "c.weight"}, {1.0, 1.0}};
  REQUIRE_THROWS_WITH(bit_penalty(zeros({2}), controller, wrong, {.lambda = 1.0}),
                      Catch::Contains("missing from the importance (1): b.weight") &&
                          Catch::Contains("unknown sites (1): c.weight"));
}

TEST_CASE("bit penalty rejects bad input with messages naming the op", "[quant]") {
  Tensor bits = from_vector<float>({4.0f, 5.0f});
  Tensor kd = zeros({2});
  Tensor importance = ones({2});
  REQUIRE_THROWS_WITH(bit_penalty(kd, bits, importance, {.lambda = -1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("lambda"));
  REQUIRE_THROWS_WITH(bit_penalty(kd, bits, importance, {.lambda = NAN}), Catch::Contains("lambda"));
  REQUIRE_THROWS_WITH(bit_penalty(zeros({3}), bits, importance, {.lambda = 1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("[3]") && Catch::Contains("[2]"));
  REQUIRE_THROWS_WITH(bit_penalty(kd, bits, from_vector<float>({1.0f, 0.0f}), {.lambda = 1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("positive"));
  REQUIRE_THROWS_WITH(bit_penalty(kd, bits, ones({2}, DType::f64), {.lambda = 1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("f64"));
  REQUIRE_THROWS_WITH(bit_penalty(Tensor(), bits, importance, {.lambda = 1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("undefined"));
  REQUIRE_THROWS_WITH(bit_penalty(kd, ones({2}, DType::i64), importance, {.lambda = 1.0}),
                      Catch::Contains("bit_penalty") && Catch::Contains("floating"));
}

}  // namespace qatd::quant
