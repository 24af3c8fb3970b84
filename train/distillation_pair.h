#pragma once
// The frozen full-precision teacher and the quantized student of the same architecture, in one
// process: the teacher in eval mode with no gradients and no fake quantization, run under no_grad
// so that it keeps no activations; the student with a quantization plan applied. Both capture
// the activations of the same KD sites (activation_capture.h), the student's before its output
// fake quantization.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd/grad_mode.h"
#include "engine/nn/module.h"
#include "quant/quantization_plan.h"
#include "train/activation_capture.h"

namespace qatd::train {

// The KD sites' activations of one step, in site order: teacher ones are constants.
struct KdActivations {
  std::vector<std::string> sites;
  std::vector<Tensor> teacher;
  std::vector<Tensor> student;
};

class DistillationPair {
 public:
  // Freezes `teacher`, hooks the KD sites on both models (a site missing on either is an error
  // naming it), then applies `plan` to `student`. Both models must outlive the pair.
  DistillationPair(nn::Module& teacher, nn::Module& student, const quant::QuantizationPlan& plan,
                   const std::vector<std::string>& kd_sites);

  nn::Module& teacher() { return teacher_; }
  nn::Module& student() { return student_; }
  quant::QuantizedModel& quantized() { return *quantized_; }
  const std::vector<std::string>& kd_sites() const { return teacher_capture_.sites(); }

  // forward(model) on the teacher under no_grad, and on the student with gradients.
  template <typename Forward>
  auto run_teacher(Forward&& forward) {
    NoGradGuard no_grad;
    teacher_capture_.clear();
    return forward(teacher_);
  }
  template <typename Forward>
  auto run_student(Forward&& forward) {
    student_capture_.clear();
    return forward(student_);
  }

  // The activations of the last run of each model. Throws when a site did not run exactly once,
  // when the sites ran in a different order on the two models, or when shapes differ.
  KdActivations kd_activations() const;

 private:
  nn::Module& teacher_;
  nn::Module& student_;
  ActivationCapture teacher_capture_;
  ActivationCapture student_capture_;
  std::optional<quant::QuantizedModel> quantized_;
};

}  // namespace qatd::train
