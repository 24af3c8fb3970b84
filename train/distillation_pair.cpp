#include "train/distillation_pair.h"

#include "engine/error.h"

namespace qatd::train {

namespace {

nn::Module& frozen(nn::Module& teacher) {
  teacher.eval();
  teacher.requires_grad_(false);
  return teacher;
}

}  // namespace

DistillationPair::DistillationPair(nn::Module& teacher, nn::Module& student, const quant::QuantizationPlan& plan,
                                   const std::vector<std::string>& kd_sites)
    : teacher_(frozen(teacher)),
      student_(student),
      teacher_capture_(teacher, kd_sites, "teacher"),
      student_capture_(student, kd_sites, "student") {
  QATD_CHECK(&teacher != &student, "DistillationPair: the teacher and the student must be two models");
  // After the capture hooks, so that they see the student's outputs before output fake quant.
  quantized_.emplace(quant::apply_plan(student, plan));
}

KdActivations DistillationPair::kd_activations() const {
  KdActivations result;
  result.sites = teacher_capture_.sites();
  result.teacher = teacher_capture_.activations();
  result.student = student_capture_.activations();
  const auto& teacher_order = teacher_capture_.call_order();
  const auto& student_order = student_capture_.call_order();
  for (size_t position = 0; position < teacher_order.size(); ++position) {
    QATD_CHECK(teacher_order[position] == student_order[position],
               "layerwise distillation: the KD sites ran in a different order: call {} was '{}' on the teacher, "
               "'{}' on the student",
               position, result.sites[teacher_order[position]], result.sites[student_order[position]]);
  }
  for (size_t i = 0; i < result.sites.size(); ++i) {
    QATD_CHECK(result.teacher[i].shape() == result.student[i].shape(),
               "layerwise distillation: KD site '{}' gives {} on the teacher and {} on the student", result.sites[i],
               shape_str(result.teacher[i].shape()), shape_str(result.student[i].shape()));
  }
  return result;
}

}  // namespace qatd::train
