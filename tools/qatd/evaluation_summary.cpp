#include "tools/qatd/evaluation_summary.h"

#include <algorithm>
#include <string>

namespace qatd::cli {

void print_evaluation_summary(std::FILE* out, const train::EvaluationResult& result) {
  if (!result.bits.empty()) {
    size_t width = 4;
    for (const auto& [site, bits] : result.bits) width = std::max(width, site.size());
    std::fprintf(out, "integer bits per site:\n");
    for (const auto& [site, bits] : result.bits) {
      auto elements = result.weight_elements.find(site);
      std::fprintf(out, "  %-*s %2lld  %s\n", static_cast<int>(width), site.c_str(), static_cast<long long>(bits),
                   elements == result.weight_elements.end()
                       ? "(activation)"
                       : (std::to_string(elements->second) + " weights").c_str());
    }
  }
  std::fprintf(out, "validation: %lld images, %lld objects; each with a centre click and a box\n",
               static_cast<long long>(result.images), static_cast<long long>(result.objects));
  std::fprintf(out, "%-22s %8s %8s %8s\n", "mIoU vs ground truth", "all", "click", "box");
  auto line = [&](const char* name, double train::PromptScores::*field) {
    std::fprintf(out, "  %-20s %8.4f %8.4f %8.4f\n", name, result.all.*field, result.point.*field, result.box.*field);
  };
  line("quantized student", &train::PromptScores::miou_gt);
  line("float student", &train::PromptScores::miou_float_student);
  if (result.has_teacher) {
    line("teacher", &train::PromptScores::miou_teacher);
    std::fprintf(out, "student vs teacher mIoU %.4f, IoU prediction MAE %.4f\n", result.all.miou_vs_teacher,
                 result.all.iou_pred_mae);
  } else {
    std::fprintf(out, "  teacher: none (a from-scratch run trains against none); IoU prediction MAE %.4f\n",
                 result.all.iou_pred_mae);
  }
  const double compression =
      result.model_bytes > 0 ? static_cast<double>(result.teacher_bytes) / static_cast<double>(result.model_bytes) : 0.0;
  std::fprintf(out, "average bits: weights %.2f, activations %.2f; model %.1f KB (packed) vs teacher %.1f KB: %.2fx\n",
               result.avg_weight_bits, result.avg_act_bits, static_cast<double>(result.model_bytes) / 1024.0,
               static_cast<double>(result.teacher_bytes) / 1024.0, compression);
}

}  // namespace qatd::cli
