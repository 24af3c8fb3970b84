// qatd eval's measurements on the SAM 2 micro model: a student that is the teacher scores exactly like
// it; a 2-bit student differs from it and is smaller.
#include <cmath>

#include <catch2/catch.hpp>

#include "models/sam2/build_sam.h"
#include "quant/quantization_plan.h"
#include "tests/train/trainer_test_support.h"
#include "train/data/procedural_shapes.h"
#include "train/evaluation.h"

namespace qatd::train {
namespace {

DataSettings validation_settings() {
  DataSettings settings;
  settings.count = 1;
  settings.validation_count = 2;
  settings.image_size = 128;
  settings.eval_objects = 2;
  return settings;
}

// Two procedural validation images at 128 x 128.
data::SegmentationDataset validation_set() {
  DataSettings settings = validation_settings();
  return data::SegmentationDataset(
      std::make_shared<data::ProceduralShapes>(settings.count + settings.validation_count, 128, 0), settings,
      data::Split::validation, 32);
}

struct MicroPair {
  std::unique_ptr<sam2::SAM2Base> teacher, student;
};

MicroPair micro_pair() {
  const std::string checkpoint = testing::fixture_path("sam2_micro_a/model.safetensors");
  return {sam2::build_sam2(micro_config_128(), checkpoint), sam2::build_sam2(micro_config_128(), checkpoint)};
}

}  // namespace

TEST_CASE("evaluation: the student is the teacher with quantization off -> mIoU 1.0 against it", "[train][eval]") {
  MicroPair models = micro_pair();
  quant::QuantizedModel quantized = quant::apply_plan(*models.student, quant::QuantizationPlan{});
  data::SegmentationDataset validation = validation_set();
  EvaluationResult result = evaluate(models.teacher.get(), *models.student, quantized, validation, {.overlays = 2});
  INFO("miou_gt " << result.all.miou_gt << ", miou_teacher " << result.all.miou_teacher);
  CHECK(result.images == 2);
  CHECK(result.all.prompts == 2 * result.objects);
  CHECK(result.point.prompts == result.objects);
  CHECK(result.all.miou_vs_teacher == 1.0);
  CHECK(result.all.miou_gt == result.all.miou_teacher);
  CHECK(result.all.miou_float_student == result.all.miou_gt);
  CHECK(result.avg_weight_bits == 32.0);
  CHECK(result.avg_act_bits == 32.0);
  CHECK(result.model_bytes == result.teacher_bytes);
  CHECK(result.bits.empty());
  REQUIRE(result.overlays.size() == 2);
  CHECK(result.overlays[0].pixels.shape() == Shape{128, 3 * 128, 3});

  nlohmann::json document = result.to_json();
  for (const char* key : {"miou_gt", "miou_teacher", "miou_vs_teacher", "iou_pred_mae", "avg_weight_bits",
                          "avg_act_bits", "model_bytes", "teacher_bytes", "bits"}) {
    CHECK(document.contains(key));
  }
  CHECK(document["prompts"]["box"]["prompts"] == result.objects);
}

TEST_CASE("evaluation: a 2-bit student departs from the teacher and is smaller", "[train][eval]") {
  MicroPair models = micro_pair();
  quant::QuantizedModel quantized = quant::apply_plan(*models.student, quant::QuantizationPlan::uniform_weights(2, true));
  data::SegmentationDataset validation = validation_set();
  EvaluationResult result = evaluate(models.teacher.get(), *models.student, quantized, validation, {.overlays = 0});
  INFO("miou_vs_teacher " << result.all.miou_vs_teacher << ", avg_weight_bits " << result.avg_weight_bits
                          << ", model_bytes " << result.model_bytes << " of " << result.teacher_bytes);
  CHECK(result.all.miou_vs_teacher < 1.0);
  CHECK(result.bits.size() == result.weight_elements.size());
  for (const auto& [site, bits] : result.bits) CHECK(bits == 2);
  // Every matrix and convolution kernel is at 2 bits; only the prompt encoder's and decoder's small
  // embedding tables (point, mask and IoU tokens: under 0.1% of the weights) stay at 32.
  CHECK(result.avg_weight_bits > 2.0);
  CHECK(result.avg_weight_bits < 2.05);
  CHECK(result.model_bytes < result.teacher_bytes / 4);
  CHECK(result.export_bytes > result.model_bytes);
  CHECK(quantized.bits().frozen());
}

TEST_CASE("evaluation: without a teacher (a from-scratch run) its scores are null and the summary says so",
          "[train][eval]") {
  MicroPair models = micro_pair();
  quant::QuantizedModel quantized = quant::apply_plan(*models.student, quant::QuantizationPlan{});
  data::SegmentationDataset validation = validation_set();
  EvaluationResult result = evaluate(nullptr, *models.student, quantized, validation, {.overlays = 1});
  CHECK_FALSE(result.has_teacher);
  CHECK(std::isnan(result.all.miou_teacher));
  CHECK(std::isnan(result.box.miou_vs_teacher));
  CHECK(result.all.miou_gt == result.all.miou_float_student);
  REQUIRE(result.overlays.size() == 1);
  nlohmann::json document = result.to_json();
  CHECK(document["miou_teacher"].is_null());
  CHECK(document["prompts"]["point"]["miou_vs_teacher"].is_null());
  CHECK(document["has_teacher"] == false);
  CHECK(document["miou_gt"].is_number());
}

}  // namespace qatd::train
