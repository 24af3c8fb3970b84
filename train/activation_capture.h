#pragma once
// Layerwise distillation needs the same activations from the teacher and the student: forward
// hooks on the named KD sites record each site's output once per step.
//
// On the student, a site that also has output fake quantization must be seen before it: hooks run
// in registration order and each sees the output the previous one returned, so the capture hooks
// are registered before the quantization plan is applied (DistillationPair does this).
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace qatd::train {

class ActivationCapture {
 public:
  // Hooks every site of `model` (dotted module names); `role` ("teacher", "student") names the
  // model in errors. Throws naming the nearest module when a site does not exist.
  ActivationCapture(nn::Module& model, std::vector<std::string> sites, std::string role);
  ~ActivationCapture();
  ActivationCapture(const ActivationCapture&) = delete;
  ActivationCapture& operator=(const ActivationCapture&) = delete;

  const std::vector<std::string>& sites() const { return sites_; }
  // Forgets what the previous step recorded (call before each forward).
  void clear();
  // The activations of the last forward, in site order. Throws naming every site that did not run
  // exactly once (a site's module must produce one output per step).
  std::vector<Tensor> activations() const;
  // The order in which the sites ran during the last forward (indices into sites()).
  const std::vector<size_t>& call_order() const { return call_order_; }

 private:
  std::vector<std::string> sites_;
  std::string role_;
  std::vector<nn::Module*> modules_;
  std::vector<int> hooks_;
  std::vector<std::vector<Tensor>> recorded_;
  std::vector<size_t> call_order_;
};

}  // namespace qatd::train
