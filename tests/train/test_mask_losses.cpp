// SAM 2's supervised loss against the official training code (tests/fixtures/train/mask_losses.safetensors,
// written by tools/make_loss_fixtures.py from facebookresearch/sam2 training/loss_fns.py), its float64
// gradients against finite differences on the same inputs, and bad input.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "tests/train/test_loss_gradcheck.h"
#include "train/mask_losses.h"

namespace qatd::train {

namespace {

std::string fixture_path() { return std::string(QATD_TEST_DATA_DIR) + "/fixtures/train/mask_losses.safetensors"; }

// The options of each fixture case, mirroring CASES in tools/make_loss_fixtures.py.
MaskLossOptions case_options(const std::string& name) {
  MaskLossOptions options;  // the shipped config
  if (name == "multimask_best_iou_mse") {
    options.supervise_all_iou = false;
    options.iou_use_l1_loss = false;
  } else if (name == "no_object_scores") {
    options.pred_obj_scores = false;
  } else if (name == "plain_bce") {
    options.mask_term = MaskTerm::bce;
  } else if (name == "class_defaults_weights") {
    options = {.weight_mask = 5.0,
               .weight_dice = 2.0,
               .weight_iou = 0.5,
               .weight_class = 3.0,
               .focal_alpha = 0.4,
               .focal_gamma = 1.5,
               .supervise_all_iou = false,
               .iou_use_l1_loss = false,
               .pred_obj_scores = true,
               .focal_alpha_obj_score = 0.3,
               .focal_gamma_obj_score = 2.0};
  }
  return options;
}

const std::vector<std::string> kCases = {"multimask",         "single_mask",     "multimask_no_objects",
                                         "single_mask_no_objects", "multimask_best_iou_mse", "no_object_scores",
                                         "plain_bce",         "class_defaults_weights"};
const char* kPredictionKeys[] = {"masks", "ious", "object_scores"};

// The case's predictions as fresh leaves of `dtype`, by fixture key, and the frames that use them.
struct LoadedCase {
  std::map<std::string, Tensor> leaves;
  std::vector<FrameMaskPredictions> frames;
};

LoadedCase load_case(const io::SafetensorsFile& file, const std::string& name, DType dtype) {
  LoadedCase loaded;
  Tensor target = file.get(name + ".target");
  for (int64_t t = 0; t < target.shape()[0]; ++t) {
    FrameMaskPredictions frame;
    frame.target = target.select(0, t).to(dtype);
    for (int64_t k = 0; file.contains(fmt::format("{}.f{}.s{}.masks", name, t, k)); ++k) {
      std::string prefix = fmt::format("{}.f{}.s{}.", name, t, k);
      for (const char* key : kPredictionKeys) {
        loaded.leaves[prefix + key] = file.get(prefix + key).to(dtype).contiguous().detach().set_requires_grad(true);
      }
      frame.steps.push_back(
          {loaded.leaves[prefix + "masks"], loaded.leaves[prefix + "ious"], loaded.leaves[prefix + "object_scores"]});
    }
    loaded.frames.push_back(frame);
  }
  return loaded;
}

}  // namespace

TEST_CASE("sam2_mask_loss matches the official MultiStepMultiMasksAndIous (values and gradients)", "[train][loss]") {
  // float32 on both sides; the tolerances are the op fixtures' (forward 1e-5, gradients 1e-4 relative).
  io::SafetensorsFile file = io::SafetensorsFile::open(fixture_path());
  double worst_forward = 0.0, worst_gradient = 0.0;
  for (const std::string& name : kCases) {
    LoadedCase loaded = load_case(file, name, DType::f32);
    MaskLoss loss = sam2_mask_loss(loaded.frames, case_options(name));
    const std::pair<const char*, Tensor> components[] = {{"loss_mask", loss.mask},   {"loss_dice", loss.dice},
                                                         {"loss_iou", loss.iou},     {"loss_class", loss.object},
                                                         {"core_loss", loss.total}};
    for (const auto& [key, ours] : components) {
      CHECK(ours.dim() == 0);
      double error = testing::report_difference(name + "." + key, ours, file.get(name + "." + key));
      worst_forward = std::max(worst_forward, error);
      CHECK(error <= 1e-5);
    }
    loss.total.backward();
    for (const auto& [key, leaf] : loaded.leaves) {
      std::string grad_key = key.substr(0, key.rfind('.')) + ".grad" + key.substr(key.rfind('.'));
      Tensor reference = file.get(grad_key);
      Tensor ours = leaf.grad().defined() ? leaf.grad() : zeros_like(reference);
      double error = testing::report_difference("d core_loss / d " + key, ours, reference);
      worst_gradient = std::max(worst_gradient, error);
      CHECK(error <= 1e-4);
    }
  }
  std::printf("sam2_mask_loss vs official: worst forward relative error %.3e (tolerance 1e-5), worst gradient %.3e "
              "(tolerance 1e-4)\n",
              worst_forward, worst_gradient);
}

TEST_CASE("sam2_mask_loss: float64 gradients equal finite differences on every fixture case", "[train][loss][gradcheck]") {
  // The thresholds (IoU target, object presence) and the best-mask argmin are constant under a 1e-6 step:
  // the fixture's logits are far from 0 at that scale and its best-mask margins are >= 1e-2.
  io::SafetensorsFile file = io::SafetensorsFile::open(fixture_path());
  for (const std::string& name : kCases) {
    LoadedCase loaded = load_case(file, name, DType::f64);
    std::vector<Tensor> inputs;
    for (const auto& entry : loaded.leaves) inputs.push_back(entry.second);
    MaskLossOptions options = case_options(name);
    auto result = testing::loss_gradcheck(
        "sam2_mask_loss " + name, [&] { return sam2_mask_loss(loaded.frames, options).total; }, inputs);
    CHECK(result.worst_ratio <= 1.0);
  }
}

TEST_CASE("sam2_mask_loss: a zero weight drops its term and the single-step overload is one frame", "[train][loss]") {
  io::SafetensorsFile file = io::SafetensorsFile::open(fixture_path());
  LoadedCase loaded = load_case(file, "single_mask", DType::f64);
  const FrameMaskPredictions& frame = loaded.frames[0];
  MaskLossOptions options;
  MaskLoss one = sam2_mask_loss(frame.steps[0], frame.target, options);
  MaskLoss framed = sam2_mask_loss(std::vector<FrameMaskPredictions>{{{frame.steps[0]}, frame.target}}, options);
  CHECK(one.total.item() == framed.total.item());
  options.weight_mask = 0.0;
  MaskLoss without_mask = sam2_mask_loss(frame.steps[0], frame.target, options);
  CHECK(without_mask.total.item() ==
        Approx(one.total.item() - 20.0 * one.mask.item()).epsilon(1e-12));
}

TEST_CASE("sam2_mask_loss rejects bad input with a clear message", "[train][loss]") {
  Tensor masks = zeros({2, 3, 4, 4});
  Tensor ious = zeros({2, 3});
  Tensor scores = zeros({2, 1});
  Tensor target = zeros({2, 4, 4});
  using Catch::Contains;
  REQUIRE_THROWS_WITH(sam2_mask_loss({zeros({2, 3, 4, 5}), ious, scores}, target),
                      Contains("sam2_mask_loss") && Contains("[N, M, H, W]") && Contains("[2, 3, 4, 5]"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious, scores}, zeros({3, 4, 4})), Contains("matching the target"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, zeros({2, 1}), scores}, target),
                      Contains("IoU predictions must be [N, M]"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious, Tensor()}, target), Contains("object-score logits are undefined"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious, zeros({2})}, target), Contains("object-score logits must be"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious.to(DType::f64), scores}, target), Contains("f64"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious, scores}, zeros({4, 4})), Contains("target must be [N, H, W]"));
  REQUIRE_THROWS_WITH(sam2_mask_loss({masks, ious, scores}, target, {.weight_dice = -1.0}),
                      Contains("weight_dice must be finite and non-negative"));
  REQUIRE_THROWS_WITH(sam2_mask_loss(std::vector<FrameMaskPredictions>{}), Contains("no frames"));
  REQUIRE_THROWS_WITH(sam2_mask_loss(std::vector<FrameMaskPredictions>{{{}, target}}), Contains("no prediction steps"));
  std::vector<FrameMaskPredictions> uneven = {{{{masks, ious, scores}}, target},
                                              {{{zeros({1, 3, 4, 4}), zeros({1, 3}), zeros({1, 1})}}, zeros({1, 4, 4})}};
  REQUIRE_THROWS_WITH(sam2_mask_loss(uneven), Contains("frame 1") && Contains("same object count"));
  // Without object scores they may be left out.
  CHECK_NOTHROW(sam2_mask_loss({masks, ious, Tensor()}, target, {.pred_obj_scores = false}));
}

}  // namespace qatd::train
