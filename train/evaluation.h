#pragma once
// `qatd eval`'s measurements: accuracy against compression for a quantized student, its teacher and
// the same student without quantization, on the validation split.
//
// For every validation image (data.validation_count of them) and each of its data.eval_objects
// largest objects, two prompts: the object's centre click (the pixel farthest from its boundary,
// RITM-style, multimask output, the mask with the highest predicted IoU) and its exact box (single
// mask output), as training prompts them. Each model runs SAM 2's image path at the model's input
// size S (the masks are compared at S x S); a mask is its logits > 0. IoU = |A and B| / |A or B|, 1
// when both are empty.
//
// The student runs with its integer bits (round(clamp(b)), the forward's bits; the bits are frozen)
// and its quantizers in eval mode; "float student" is the same weights with fake quantization off.
// Sizes: model_bytes is the integer export with each weight packed at its integer bits (plus scales,
// zero points and every other tensor in float32: quant/integer_export.h, packed_bytes +
// other_float_bytes); export_bytes the same with weights in the int8/int16 containers the export
// file stores; teacher_bytes the model in float32. avg_weight_bits is the parameter-weighted mean
// over weight sites (32 for unquantized weights); avg_act_bits the mean over output sites, 32 when
// no activation is quantized.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "models/sam2/sam2_base.h"
#include "quant/quantization_plan.h"
#include "train/data/segmentation_dataset.h"
#include "train/train_config.h"

namespace qatd::train {

// Mean scores over one set of prompts.
struct PromptScores {
  int64_t prompts = 0;
  double miou_gt = 0.0;            // quantized student vs ground truth
  double miou_teacher = 0.0;       // teacher vs ground truth; NaN without a teacher
  double miou_vs_teacher = 0.0;    // quantized student vs teacher masks; NaN without a teacher
  double miou_float_student = 0.0; // the student without quantization vs ground truth
  double iou_pred_mae = 0.0;       // |the student's predicted IoU - its IoU against the ground truth|
};

// One picture for the report: the image with ground truth, teacher and student masks side by side.
struct EvaluationOverlay {
  std::string name;  // "<image name> object k <prompt>"
  Tensor pixels;     // (S, 3S, 3) u8
};

struct EvaluationResult {
  PromptScores all, point, box;
  int64_t images = 0, objects = 0;
  double avg_weight_bits = 32.0, avg_act_bits = 32.0;
  int64_t model_bytes = 0, export_bytes = 0, teacher_bytes = 0;
  std::map<std::string, int64_t> bits;            // site -> integer bits
  std::map<std::string, int64_t> weight_elements; // weight site -> elements, for weighting
  std::vector<EvaluationOverlay> overlays;
  bool has_teacher = true;  // false for a from-scratch run: no teacher was trained against

  // The JSON `qatd eval --json` writes: every field above (scores of `all` at the top level, the
  // per-prompt ones under "prompts"; NaN scores as null), plus compression = teacher_bytes / model_bytes.
  nlohmann::json to_json() const;
};

struct EvaluationOptions {
  int64_t overlays = 4;  // the first objects' box predictions drawn for the report
};

// `student` carries `quantized` (the plan applied to it); `teacher` may be null (a from-scratch run).
// Leaves the quantizers enabled, in eval mode, with the bits frozen.
EvaluationResult evaluate(sam2::SAM2Base* teacher, sam2::SAM2Base& student, quant::QuantizedModel& quantized,
                          const data::SegmentationDataset& validation, const EvaluationOptions& options = {});

struct CheckpointEvaluation {
  EvaluationResult result;
  nlohmann::json document;  // result.to_json() with "checkpoint" and "step" (0 for a model checkpoint)
};

// The teacher and student of `config` with `checkpoint` (run_models.h), evaluated on the config's
// validation split.
CheckpointEvaluation evaluate_checkpoint(const TrainConfig& config, const std::string& checkpoint,
                                         const EvaluationOptions& options = {});

}  // namespace qatd::train
