// Distillation losses: layerwise KD per site (MSE, normalized MSE, KL with temperature) and output KD
// (mask logits, IoU predictions) against their formulas computed by hand, float64 finite differences,
// teacher constancy, and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "tests/train/test_loss_gradcheck.h"
#include "train/distillation_losses.h"

namespace qatd::train {

namespace {

double softplus_value(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double sigmoid_value(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// sum_k q_k (log q_k - log p_k) over the rows of [rows, cols] (softmax over the last dim), / rows.
double kl_by_hand(const std::vector<double>& student, const std::vector<double>& teacher, int64_t rows, int64_t cols,
                  double temperature) {
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    double student_norm = 0.0, teacher_norm = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      student_norm += std::exp(student[r * cols + c] / temperature);
      teacher_norm += std::exp(teacher[r * cols + c] / temperature);
    }
    for (int64_t c = 0; c < cols; ++c) {
      double log_q = teacher[r * cols + c] / temperature - std::log(teacher_norm);
      double log_p = student[r * cols + c] / temperature - std::log(student_norm);
      total += std::exp(log_q) * (log_q - log_p);
    }
  }
  return total / static_cast<double>(rows);
}

}  // namespace

TEST_CASE("site_kd_loss equals its formulas on given tensors", "[train][loss]") {
  const std::vector<double> s = {0.5, -1.25, 2.0, 0.75, -0.5, 1.5};
  const std::vector<double> t = {0.25, -1.0, 1.0, 1.5, 0.0, 2.5};
  Tensor student = from_vector(s, {2, 3});
  Tensor teacher = from_vector(t, {2, 3});
  double squared = 0.0, teacher_power = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    squared += (s[i] - t[i]) * (s[i] - t[i]);
    teacher_power += t[i] * t[i];
  }
  double mse = squared / 6.0;
  CHECK(site_kd_loss(student, teacher, {.weight = 0.5}).item() == Approx(0.5 * mse).epsilon(1e-14));
  CHECK(site_kd_loss(student, teacher, {.weight = 2.0, .normalize_by_teacher = true}).item() ==
        Approx(2.0 * mse / (teacher_power / 6.0 + 1e-8)).epsilon(1e-14));
  for (double temperature : {1.0, 3.0}) {
    double expected = 1.5 * temperature * temperature * kl_by_hand(s, t, 2, 3, temperature);
    SiteKdOptions kl = {.divergence = SiteDivergence::kl, .weight = 1.5, .temperature = temperature};
    CHECK(site_kd_loss(student, teacher, kl).item() == Approx(expected).epsilon(1e-13));
    // Over dim 0 it is the same loss on the transposed layout.
    kl.softmax_dim = 0;
    CHECK(site_kd_loss(student.t(), teacher.t(), kl).item() == Approx(expected).epsilon(1e-13));
  }
  CHECK(site_kd_loss(student, student, {.divergence = SiteDivergence::kl}).item() == Approx(0.0).margin(1e-15));
}

TEST_CASE("layerwise_kd_loss stacks the sites in configured order; the teacher gets no gradient", "[train][loss]") {
  Tensor student_a = testing::random_leaf({2, 4}, 1);
  Tensor student_b = testing::random_leaf({3, 5}, 2);
  Tensor teacher_a = testing::random_leaf({2, 4}, 3);
  Tensor teacher_b = testing::random_leaf({3, 5}, 4);
  std::vector<KdSite> sites = {{"b", {.divergence = SiteDivergence::kl, .weight = 0.25, .temperature = 2.0}},
                               {"a", {.weight = 3.0, .normalize_by_teacher = true}}};
  LayerwiseKd kd = layerwise_kd_loss({{"a", student_a}, {"b", student_b}}, {{"b", teacher_b}, {"a", teacher_a}}, sites);
  REQUIRE(kd.per_site.shape() == Shape{2});
  CHECK(kd.names == std::vector<std::string>{"b", "a"});
  std::vector<double> per_site = kd.per_site.to_vector<double>();
  CHECK(per_site[0] == Approx(site_kd_loss(student_b, teacher_b, sites[0].options).item()).epsilon(1e-14));
  CHECK(per_site[1] == Approx(site_kd_loss(student_a, teacher_a, sites[1].options).item()).epsilon(1e-14));
  CHECK(kd.total.item() == Approx(per_site[0] + per_site[1]).epsilon(1e-14));
  kd.total.backward();
  CHECK(student_a.grad().defined());
  CHECK(student_b.grad().defined());
  CHECK_FALSE(teacher_a.grad().defined());
  CHECK_FALSE(teacher_b.grad().defined());
}

TEST_CASE("output_kd_loss equals its formulas on given tensors", "[train][loss]") {
  const std::vector<double> s = {1.5, -2.0, 0.25, 3.0};
  const std::vector<double> t = {2.5, -1.0, -0.5, 4.0};
  const std::vector<double> s_iou = {0.75, 0.5};
  const std::vector<double> t_iou = {0.5, 0.875};
  Tensor student = from_vector(s, {1, 1, 2, 2});
  Tensor teacher = from_vector(t, {1, 1, 2, 2});
  double temperature = 2.0;
  double bce = 0.0, mse = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    double z = s[i] / temperature;
    bce += softplus_value(z) - z * sigmoid_value(t[i] / temperature);
    mse += (s[i] - t[i]) * (s[i] - t[i]);
  }
  bce = temperature * temperature * bce / 4.0;
  mse /= 4.0;
  double iou_mse = (0.25 * 0.25 + 0.375 * 0.375) / 2.0;
  double iou_l1 = (0.25 + 0.375) / 2.0;
  OutputKd kd = output_kd_loss(student, teacher, from_vector(s_iou, {1, 2}), from_vector(t_iou, {1, 2}),
                               {.temperature = temperature, .mask_weight = 2.0, .iou_weight = 0.5});
  CHECK(kd.mask.item() == Approx(bce).epsilon(1e-14));
  CHECK(kd.iou.item() == Approx(iou_mse).epsilon(1e-14));
  CHECK(kd.total.item() == Approx(2.0 * bce + 0.5 * iou_mse).epsilon(1e-14));
  OutputKd logits = output_kd_loss(student, teacher, from_vector(s_iou, {1, 2}), from_vector(t_iou, {1, 2}),
                                   {.mask_loss = MaskKdLoss::mse, .iou_loss = IouKdLoss::l1});
  CHECK(logits.mask.item() == Approx(mse).epsilon(1e-14));
  CHECK(logits.iou.item() == Approx(iou_l1).epsilon(1e-14));
  OutputKd masks_only = output_kd_loss(student, teacher, Tensor(), Tensor(), {.iou_weight = 0.0});
  CHECK(masks_only.iou.item() == 0.0);
}

TEST_CASE("distillation losses: float64 gradients equal finite differences", "[train][loss][gradcheck]") {
  Tensor student = testing::random_leaf({2, 3, 4}, 11, 2.0);
  Tensor teacher = testing::random_leaf({2, 3, 4}, 12, 2.0);
  const std::pair<const char*, SiteKdOptions> sites[] = {
      {"site mse", {.weight = 0.7}},
      {"site mse normalized", {.normalize_by_teacher = true}},
      {"site kl T=1 dim=-1", {.divergence = SiteDivergence::kl}},
      {"site kl T=2.5 dim=1", {.divergence = SiteDivergence::kl, .weight = 1.3, .temperature = 2.5, .softmax_dim = 1}},
  };
  for (const auto& [name, options] : sites) {
    auto result = testing::loss_gradcheck(name, [&] { return site_kd_loss(student, teacher, options); }, {student});
    CHECK(result.worst_ratio <= 1.0);
  }
  Tensor student_masks = testing::random_leaf({2, 3, 4, 4}, 13, 3.0);
  Tensor teacher_masks = testing::random_leaf({2, 3, 4, 4}, 14, 3.0);
  Tensor student_ious = testing::random_leaf({2, 3}, 15);
  Tensor teacher_ious = testing::random_leaf({2, 3}, 16);
  const std::pair<const char*, OutputKdOptions> outputs[] = {
      {"output kd bce T=1, iou mse", {}},
      {"output kd bce T=3, iou l1", {.temperature = 3.0, .iou_loss = IouKdLoss::l1, .mask_weight = 0.5}},
      {"output kd mse, iou mse", {.mask_loss = MaskKdLoss::mse, .iou_weight = 2.0}},
  };
  for (const auto& [name, options] : outputs) {
    auto result = testing::loss_gradcheck(
        name, [&] { return output_kd_loss(student_masks, teacher_masks, student_ious, teacher_ious, options).total; },
        {student_masks, student_ious});
    CHECK(result.worst_ratio <= 1.0);
  }
}

TEST_CASE("distillation losses reject bad input with a clear message", "[train][loss]") {
  using Catch::Contains;
  Tensor a = zeros({2, 3});
  NamedActivations both = {{"encoder.block0", a}, {"encoder.block1", a}};
  std::vector<KdSite> sites = {{"encoder.block0", {}}, {"encoder.block1", {}}};
  REQUIRE_THROWS_WITH(layerwise_kd_loss({{"encoder.block0", a}}, both, sites),
                      Contains("'encoder.block1' was captured on the teacher but not on the student"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, {{"encoder.block0", a}}, sites),
                      Contains("'encoder.block1' was captured on the student but not on the teacher"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, both, {{"encoder.blok1", {}}}),
                      Contains("site 'encoder.blok1' is missing from the student") &&
                          Contains("did you mean 'encoder.block1'"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, {{"encoder.block0", a}, {"encoder.block1", zeros({2, 4})}}, sites),
                      Contains("site 'encoder.block1'") && Contains("[2, 3]") && Contains("[2, 4]"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, {{"encoder.block0", a}, {"encoder.block1", a.to(DType::f64)}}, sites),
                      Contains("site 'encoder.block1'") && Contains("f64"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, both, {sites[0], sites[0]}), Contains("configured twice"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss(both, both, {}), Contains("no KD sites"));
  REQUIRE_THROWS_WITH(layerwise_kd_loss({{"x", a}, {"x", a}}, both, sites), Contains("captured site 'x' twice"));
  REQUIRE_THROWS_WITH(site_kd_loss(a, a, {.divergence = SiteDivergence::kl, .temperature = 0.0}),
                      Contains("temperature must be positive"));
  REQUIRE_THROWS_WITH(site_kd_loss(a, a, {.divergence = SiteDivergence::kl, .softmax_dim = 2}),
                      Contains("softmax_dim 2 is out of range"));
  REQUIRE_THROWS_WITH(site_kd_loss(a, a, {.weight = -1.0}), Contains("site weight must be finite and non-negative"));
  REQUIRE_THROWS_WITH(site_kd_loss(a, Tensor(), {}), Contains("teacher's activation is undefined"));
  REQUIRE_THROWS_WITH(output_kd_loss(zeros({1, 3, 4, 4}), zeros({1, 1, 4, 4}), Tensor(), Tensor(), {.iou_weight = 0.0}),
                      Contains("output_kd_loss") && Contains("mask logits has shape [1, 3, 4, 4]"));
  REQUIRE_THROWS_WITH(output_kd_loss(zeros({1, 3, 4, 4}), zeros({1, 3, 4, 4}), Tensor(), Tensor()),
                      Contains("IoU predictions are undefined but iou_weight is 1"));
  REQUIRE_THROWS_WITH(output_kd_loss(zeros({1, 3, 4, 4}), zeros({1, 3, 4, 4}), zeros({1, 3}), zeros({1, 1})),
                      Contains("IoU predictions has shape [1, 3]"));
}

}  // namespace qatd::train
