#include "train/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "quant/integer_export.h"
#include "train/data/prompt_sampling.h"
#include "train/data/data_sources.h"
#include "train/prompted_prediction.h"
#include "train/run_models.h"

namespace qatd::train {

namespace {

double mask_iou(const Tensor& a, const Tensor& b) {
  const bool* left = a.data<bool>();
  const bool* right = b.data<bool>();
  int64_t both = 0, either = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    both += left[i] && right[i];
    either += left[i] || right[i];
  }
  return either == 0 ? 1.0 : static_cast<double>(both) / static_cast<double>(either);
}

// Sums of the scores, turned into means by finish().
struct ScoreSums {
  PromptScores sums;
  void add(double gt, double teacher, double vs_teacher, double float_student, double iou_error) {
    ++sums.prompts;
    sums.miou_gt += gt;
    sums.miou_teacher += teacher;
    sums.miou_vs_teacher += vs_teacher;
    sums.miou_float_student += float_student;
    sums.iou_pred_mae += iou_error;
  }
  PromptScores finish() const {
    PromptScores mean = sums;
    const double count = static_cast<double>(std::max<int64_t>(1, sums.prompts));
    for (double* value : {&mean.miou_gt, &mean.miou_teacher, &mean.miou_vs_teacher, &mean.miou_float_student,
                          &mean.iou_pred_mae}) {
      *value /= count;
    }
    return mean;
  }
};

// One model's answer to K prompts: the chosen masks (K, S, S) bool and their predicted IoUs.
struct Answer {
  Tensor masks;
  std::vector<float> predicted_iou;
};

Answer answer(sam2::SAM2Base& model, const ImageEmbedding& embedding, const Tensor& coords, const Tensor& labels) {
  sam2::SamOutputs outputs = predict_prompts(model, embedding, coords, labels);
  return {gt(outputs.high_res_masks.squeeze(1), 0.0).contiguous(), amax(outputs.ious, {1}).to_vector<float>()};
}

// A score, or null where there is none (the teacher's, without a teacher).
nlohmann::json score(double value) { return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value); }

nlohmann::json scores_json(const PromptScores& scores) {
  return {{"prompts", scores.prompts},
          {"miou_gt", scores.miou_gt},
          {"miou_teacher", score(scores.miou_teacher)},
          {"miou_vs_teacher", score(scores.miou_vs_teacher)},
          {"miou_float_student", scores.miou_float_student},
          {"iou_pred_mae", scores.iou_pred_mae}};
}

}  // namespace

nlohmann::json EvaluationResult::to_json() const {
  nlohmann::json document = scores_json(all);
  document["prompts"] = {{"point", scores_json(point)}, {"box", scores_json(box)}};
  document["images"] = images;
  document["objects"] = objects;
  document["avg_weight_bits"] = avg_weight_bits;
  document["avg_act_bits"] = avg_act_bits;
  document["model_bytes"] = model_bytes;
  document["export_bytes"] = export_bytes;
  document["teacher_bytes"] = teacher_bytes;
  document["compression"] = model_bytes > 0 ? static_cast<double>(teacher_bytes) / static_cast<double>(model_bytes) : 0.0;
  document["bits"] = bits;
  document["has_teacher"] = has_teacher;
  return document;
}

EvaluationResult evaluate(sam2::SAM2Base* teacher, sam2::SAM2Base& student, quant::QuantizedModel& quantized,
                          const data::SegmentationDataset& validation, const EvaluationOptions& options) {
  NoGradGuard no_grad;
  if (teacher) teacher->eval();
  student.eval();
  quantized.train(false);
  quantized.bits().freeze();
  quantized.set_enabled(true);

  EvaluationResult result;
  result.has_teacher = teacher != nullptr;
  result.bits = quantized.bits().integer_bits();
  double weighted_bits = 0.0, activation_bits = 0.0;
  int64_t elements = 0, activation_sites = 0;
  for (const quant::QuantSite& site : quantized.sites()) {
    const double site_bits = static_cast<double>(result.bits.at(site.name));
    if (site.kind == quant::SiteKind::weight) {
      result.weight_elements[site.name] = site.weight.numel();
      weighted_bits += site_bits * static_cast<double>(site.weight.numel());
      elements += site.weight.numel();
    } else {
      activation_bits += site_bits;
      ++activation_sites;
    }
  }
  for (const auto& [name, tensor] : student.official_state()) {
    if (is_floating(tensor.dtype())) result.teacher_bytes += tensor.numel() * 4;
  }
  result.model_bytes = result.export_bytes = result.teacher_bytes;
  if (elements > 0) {
    // Unquantized weights count at 32 bits in the average.
    int64_t float_weights = 0;
    for (auto& [name, module] : student.named_modules()) {
      for (const auto& [parameter_name, parameter] : module->named_parameters(false)) {
        if (parameter_name == "weight" && parameter.dim() >= 2 && !result.weight_elements.count(name + ".weight")) {
          float_weights += parameter.numel();
        }
      }
    }
    result.avg_weight_bits = (weighted_bits + 32.0 * static_cast<double>(float_weights)) /
                             static_cast<double>(elements + float_weights);
    quant::IntegerExport exported = quant::export_integer(quantized);
    result.model_bytes = exported.sizes.packed_bytes + exported.sizes.other_float_bytes;
    result.export_bytes = exported.sizes.integer_bytes + exported.sizes.other_float_bytes;
  }
  if (activation_sites > 0) result.avg_act_bits = activation_bits / static_cast<double>(activation_sites);

  ScoreSums all, point, box;
  for (int64_t index = 0; index < validation.size(); ++index) {
    data::ValidationImage image = validation.validation_image(index);
    const int64_t objects = static_cast<int64_t>(image.masks.size());
    if (objects == 0) continue;
    ++result.images;
    result.objects += objects;
    Tensor input = image.image.unsqueeze(0);
    ImageEmbedding teacher_embedding = teacher ? embed_image(*teacher, input) : ImageEmbedding{};
    ImageEmbedding student_embedding = embed_image(student, input);
    quantized.set_enabled(false);
    ImageEmbedding float_embedding = embed_image(student, input);
    quantized.set_enabled(true);

    std::vector<float> click_coords, box_coords;
    for (const Tensor& mask : image.masks) {
      data::Click click = data::center_click(mask);
      click_coords.insert(click_coords.end(), {click.x, click.y});
      Generator unused(0);
      data::BoxPrompt exact = data::sample_box(mask, 0.0, 0.0, unused);
      box_coords.insert(box_coords.end(), {exact.x0, exact.y0, exact.x1, exact.y1});
    }
    std::vector<int32_t> box_labels;
    for (int64_t k = 0; k < objects; ++k) box_labels.insert(box_labels.end(), {2, 3});
    const std::vector<std::pair<bool, std::pair<Tensor, Tensor>>> prompts = {
        {false, {from_vector(click_coords, {objects, 1, 2}), full({objects, 1}, 1.0, DType::i32)}},
        {true, {from_vector(box_coords, {objects, 2, 2}), from_vector(box_labels, {objects, 2})}}};
    for (const auto& [is_box, prompt] : prompts) {
      const auto& [coords, labels] = prompt;
      // Without a teacher its scores are NaN (null in the JSON) and its overlay panel shows no mask.
      const double no_score = std::numeric_limits<double>::quiet_NaN();
      Answer from_teacher = teacher ? answer(*teacher, teacher_embedding, coords, labels) : Answer{};
      Answer from_student = answer(student, student_embedding, coords, labels);
      quantized.set_enabled(false);
      Answer from_float = answer(student, float_embedding, coords, labels);
      quantized.set_enabled(true);
      for (int64_t k = 0; k < objects; ++k) {
        const Tensor& truth = image.masks[k];
        Tensor student_mask = from_student.masks.select(0, k);
        Tensor teacher_mask = teacher ? from_teacher.masks.select(0, k) : zeros(truth.shape(), DType::boolean);
        const double student_iou = mask_iou(student_mask, truth);
        const double scores[] = {student_iou, teacher ? mask_iou(teacher_mask, truth) : no_score,
                                 teacher ? mask_iou(student_mask, teacher_mask) : no_score,
                                 mask_iou(from_float.masks.select(0, k), truth),
                                 std::abs(from_student.predicted_iou[k] - student_iou)};
        for (ScoreSums* sums : {&all, is_box ? &box : &point}) {
          sums->add(scores[0], scores[1], scores[2], scores[3], scores[4]);
        }
        if (is_box && static_cast<int64_t>(result.overlays.size()) < options.overlays) {
          Tensor panels = cat({io::overlay_masks(image.pixels, truth), io::overlay_masks(image.pixels, teacher_mask),
                               io::overlay_masks(image.pixels, student_mask)},
                              1);
          result.overlays.push_back({image.name + " object " + std::to_string(k) + " box", panels});
        }
      }
    }
  }
  QATD_CHECK(result.images > 0, "evaluation: no validation image has an object visible at {}x{}",
             validation.settings().image_size, validation.settings().image_size);
  result.all = all.finish();
  result.point = point.finish();
  result.box = box.finish();
  return result;
}

CheckpointEvaluation evaluate_checkpoint(const TrainConfig& config, const std::string& checkpoint,
                                         const EvaluationOptions& options) {
  RunModels models = load_run_models(config, checkpoint);
  data::SegmentationDataset validation(data::make_image_source(config), config.data, data::Split::validation,
                                       data::mask_prompt_size(*models.student));
  CheckpointEvaluation evaluation;
  evaluation.result = evaluate(models.teacher.get(), *models.student, *models.quantized, validation, options);
  evaluation.document = evaluation.result.to_json();
  evaluation.document["checkpoint"] = checkpoint;
  evaluation.document["step"] = models.step;
  return evaluation;
}

}  // namespace qatd::train
