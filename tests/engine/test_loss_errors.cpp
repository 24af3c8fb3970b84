// Losses: bad shapes, dtypes, class targets and reductions raise qatd::Error naming the loss and
// the shapes involved; plus the edge cases the op table does not reach.
#include <cmath>

#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {

TEST_CASE("regression losses need matching shapes and dtypes", "[loss][errors]") {
  REQUIRE_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({3, 2})),
                      Catch::Contains("mse_loss") && Catch::Contains("[3, 2]") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({3})), Catch::Contains("mse_loss") && Catch::Contains("[3]"));
  REQUIRE_THROWS_WITH(l1_loss(zeros({2}), zeros({2}, DType::f64)),
                      Catch::Contains("l1_loss") && Catch::Contains("f64"));
  REQUIRE_THROWS_WITH(l1_loss(zeros({2}, DType::i64), zeros({2}, DType::i64)),
                      Catch::Contains("l1_loss") && Catch::Contains("i64"));
  REQUIRE_THROWS_WITH(smooth_l1_loss(zeros({2}), zeros({2}), Reduction::mean, -1.0),
                      Catch::Contains("smooth_l1_loss") && Catch::Contains("beta"));
  REQUIRE_THROWS_WITH(mse_loss(Tensor(), zeros({2})), Catch::Contains("mse_loss") && Catch::Contains("undefined"));
}

TEST_CASE("batchmean is only for kl_div", "[loss][errors]") {
  Tensor x = zeros({2, 3}), t = zeros({2, 3});
  REQUIRE_THROWS_WITH(mse_loss(x, t, Reduction::batchmean),
                      Catch::Contains("mse_loss") && Catch::Contains("batchmean"));
  REQUIRE_THROWS_WITH(l1_loss(x, t, Reduction::batchmean), Catch::Contains("l1_loss"));
  REQUIRE_THROWS_WITH(smooth_l1_loss(x, t, Reduction::batchmean), Catch::Contains("smooth_l1_loss"));
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(x, t, Tensor(), Tensor(), Reduction::batchmean),
                      Catch::Contains("binary_cross_entropy_with_logits"));
  REQUIRE_THROWS_WITH(cross_entropy(x, zeros({2}, DType::i64), Tensor(), -100, Reduction::batchmean),
                      Catch::Contains("cross_entropy"));
  REQUIRE_THROWS_WITH(sigmoid_focal_loss(x, t, 0.25, 2.0, Reduction::batchmean), Catch::Contains("sigmoid_focal_loss"));
  REQUIRE_THROWS_WITH(dice_loss(x, t, 1.0, Reduction::batchmean), Catch::Contains("dice_loss"));
  CHECK(kl_div(x, t, Reduction::batchmean).item() == 0.0);
}

TEST_CASE("binary_cross_entropy_with_logits checks target, weight and pos_weight", "[loss][errors]") {
  Tensor x = zeros({2, 3});
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(x, zeros({3, 2})),
                      Catch::Contains("binary_cross_entropy_with_logits") && Catch::Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(x, zeros({2, 3}), zeros({4})),
                      Catch::Contains("binary_cross_entropy_with_logits") && Catch::Contains("weight") &&
                          Catch::Contains("[4]"));
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(x, zeros({2, 3}), Tensor(), zeros({2})),
                      Catch::Contains("pos_weight") && Catch::Contains("[2]"));
  REQUIRE_THROWS_WITH(binary_cross_entropy_with_logits(x, zeros({2, 3}), zeros({3}, DType::f64)),
                      Catch::Contains("binary_cross_entropy_with_logits") && Catch::Contains("f64"));
}

TEST_CASE("binary_cross_entropy_with_logits stays finite for huge logits", "[loss]") {
  Tensor x = from_vector(std::vector<float>{-1000.0f, 1000.0f, 0.0f}, {3});
  x.set_requires_grad(true);
  Tensor t = from_vector(std::vector<float>{1.0f, 0.0f, 1.0f}, {3});
  Tensor loss = binary_cross_entropy_with_logits(x, t, Tensor(), Tensor(), Reduction::none);
  std::vector<double> values = loss.to_vector<double>();
  CHECK(values[0] == Approx(1000.0));
  CHECK(values[1] == Approx(1000.0));
  CHECK(values[2] == Approx(std::log(2.0)));
  sum(loss).backward();
  std::vector<double> grad = x.grad().to_vector<double>();
  CHECK(grad[0] == Approx(-1.0));
  CHECK(grad[1] == Approx(1.0));
  CHECK(grad[2] == Approx(-0.5));
}

TEST_CASE("cross_entropy checks logits, targets, classes and weight", "[loss][errors]") {
  Tensor logits = zeros({3, 4});
  REQUIRE_THROWS_WITH(cross_entropy(logits, from_vector(std::vector<int64_t>{0, 4, 1})),
                      Catch::Contains("cross_entropy") && Catch::Contains("class 4") && Catch::Contains("4 classes"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, from_vector(std::vector<int64_t>{0, -1, 1})),
                      Catch::Contains("cross_entropy") && Catch::Contains("class -1"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({2}, DType::i64)),
                      Catch::Contains("cross_entropy") && Catch::Contains("[2]") && Catch::Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(cross_entropy(zeros({2, 4, 5}), zeros({2, 4}, DType::i64)),
                      Catch::Contains("cross_entropy") && Catch::Contains("[2, 4]") && Catch::Contains("[2, 5]"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({3, 5})),
                      Catch::Contains("cross_entropy") && Catch::Contains("probability") && Catch::Contains("[3, 5]"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({3}, DType::boolean)),
                      Catch::Contains("cross_entropy") && Catch::Contains("bool"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({3}, DType::i64), zeros({3})),
                      Catch::Contains("cross_entropy") && Catch::Contains("weight") && Catch::Contains("[3]"));
  REQUIRE_THROWS_WITH(cross_entropy(logits, zeros({3}, DType::i64), Tensor(), -100, Reduction::mean, 1.5),
                      Catch::Contains("cross_entropy") && Catch::Contains("label_smoothing"));
  REQUIRE_THROWS_WITH(cross_entropy(zeros({}), zeros({}, DType::i64)), Catch::Contains("cross_entropy"));
  REQUIRE_THROWS_WITH(cross_entropy(zeros({4}), zeros({1}, DType::i64)),
                      Catch::Contains("cross_entropy") && Catch::Contains("scalar"));
  REQUIRE_THROWS_WITH(cross_entropy(zeros({3, 4}, DType::i64), zeros({3}, DType::i64)),
                      Catch::Contains("cross_entropy") && Catch::Contains("i64"));
}

TEST_CASE("cross_entropy with every target ignored gives NaN for mean and 0 for sum, as PyTorch", "[loss]") {
  Tensor logits = randn({2, 3});
  Tensor target = from_vector(std::vector<int64_t>{-100, -100});
  CHECK(std::isnan(cross_entropy(logits, target).item()));
  CHECK(cross_entropy(logits, target, Tensor(), -100, Reduction::sum).item() == 0.0);
  // Uniform logits: -log(1/3) per counted position.
  Tensor classes = from_vector(std::vector<int64_t>{2, -100});
  CHECK(cross_entropy(zeros({2, 3}), classes).item() == Approx(std::log(3.0)));
  // Unbatched probability targets.
  CHECK(cross_entropy(zeros({4}), full({4}, 0.25)).item() == Approx(std::log(4.0)));
  // Class weights are not differentiated (PyTorch refuses to).
  Tensor weight = ones({3});
  weight.set_requires_grad(true);
  Tensor x = zeros({2, 3});
  x.set_requires_grad(true);
  cross_entropy(x, classes, weight).backward();
  CHECK(!weight.grad().defined());
  CHECK(x.grad().defined());
}

TEST_CASE("kl_div, sigmoid_focal_loss and dice_loss check shapes", "[loss][errors]") {
  REQUIRE_THROWS_WITH(kl_div(zeros({2, 3}), zeros({2, 1})),
                      Catch::Contains("kl_div") && Catch::Contains("[2, 1]") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(sigmoid_focal_loss(zeros({2, 3}), zeros({3})),
                      Catch::Contains("sigmoid_focal_loss") && Catch::Contains("[3]"));
  REQUIRE_THROWS_WITH(dice_loss(zeros({2, 3}), zeros({2, 4})),
                      Catch::Contains("dice_loss") && Catch::Contains("[2, 4]"));
  REQUIRE_THROWS_WITH(dice_loss(zeros({3}), zeros({3})), Catch::Contains("dice_loss") && Catch::Contains("2 dims"));
}

TEST_CASE("kl_div treats zero targets as contributing nothing", "[loss]") {
  Tensor input = from_vector(std::vector<double>{-1.0, -2.0}, {2});
  Tensor target = from_vector(std::vector<double>{0.0, 0.5}, {2});
  target.set_requires_grad(true);
  Tensor loss = kl_div(input, target, Reduction::none);
  std::vector<double> values = loss.to_vector<double>();
  CHECK(values[0] == 0.0);
  CHECK(values[1] == Approx(0.5 * (std::log(0.5) + 2.0)));
  sum(loss).backward();
  std::vector<double> grad = target.grad().to_vector<double>();
  CHECK(std::isfinite(grad[0]));
  CHECK(grad[1] == Approx(std::log(0.5) + 1.0 + 2.0));
}

}  // namespace qatd
