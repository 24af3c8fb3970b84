#pragma once
// SAM 2's iterative correction clicks on the image path (SAM2Train._iter_correct_pt_sampling,
// ../shared/reference/sam2_inventory.md §7.2): after the first prediction, each step adds one click per
// object sampled from the error between the current mask and the ground truth, feeds the previous
// step's low-resolution logits back as the mask prompt (not detached: gradients flow through every
// step, as in the official trainer) and runs the prompt encoder and mask decoder again.
#include <cstdint>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "models/sam2/sam2_base.h"

namespace qatd::train {

struct CorrectionOptions {
  int64_t clicks = 7;        // num_correction_pt_per_frame
  double from_target = 0.1;  // prob_to_sample_from_gt_for_train: one draw per step for the whole batch
};

struct CorrectionRun {
  std::vector<sam2::SamOutputs> steps;  // one per correction click, in order
  sam2::PointInputs points;             // the first prompt, then the clicks: (B, P + clicks, 2) and (B, P + clicks)
};

// features: the image features the first prediction used (one row per object); prompt: its clicks or
// box (B, P, 2) and (B, P); first: its outputs; targets: (B, S, S), > 0 inside. Multimask output only
// while a single click is the whole prompt, which never holds after a correction.
CorrectionRun correction_steps(sam2::SAM2Base& model, const sam2::ImageFeatures& features,
                               const sam2::PointInputs& prompt, const sam2::SamOutputs& first, const Tensor& targets,
                               const CorrectionOptions& options, Generator& generator);

}  // namespace qatd::train
