#pragma once
// Prompts simulated from masks, as SAM 2's training and evaluation make them
// (sam2/modeling/sam2_utils.py and training/model/sam2.py; ../shared/reference/sam2_inventory.md
// §7.2). Coordinates are pixel indices (x = column, y = row) of the mask's grid, as the official
// samplers return them; the prompt encoder adds the half-pixel offset itself.
//
// Masks are (H, W) bool, uint8 (nonzero is inside) or floating (> 0 is inside, so logits work).
// Every sampler draws only from the generator it is given, so a sample is fixed by its seed.
#include <cstdint>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace qatd::train::data {

// A click: label 1 positive (object), 0 negative (background).
struct Click {
  float x = 0.0f;
  float y = 0.0f;
  int32_t label = 1;
  bool operator==(const Click&) const = default;
};

// A box (x0, y0) top-left, (x1, y1) bottom-right, inclusive pixel indices; as prompt points it is
// the two points labelled 2 and 3.
struct BoxPrompt {
  float x0 = 0.0f, y0 = 0.0f, x1 = 0.0f, y1 = 0.0f;
};

// `count` clicks uniform over the mask's pixels (positive) or over its complement (negative), with
// replacement. Throws when the region to draw from is empty.
std::vector<Click> sample_clicks(const Tensor& mask, int64_t count, bool positive, Generator& generator);

// The mask's tight bounding box; each coordinate jittered by U(-1, 1) * min(noise * side, max_noise)
// (side: the box's width for x, height for y), then clamped to the image, as sample_box_points.
// noise = 0 gives the exact box. Throws for an empty mask.
BoxPrompt sample_box(const Tensor& mask, double noise, double max_noise, Generator& generator);

// The object pixel farthest from the mask's boundary (Euclidean distance transform, the mask padded
// with background), the deterministic click of RITM-style evaluation; ties go to the first pixel in
// row-major order. Throws for an empty mask.
Click center_click(const Tensor& mask);

// One SAM 2 correction click from the error between `prediction` and `target` (same size), as
// sample_random_points_from_errors: with probability `probability_from_target` (0.1 in SAM 2) a
// positive click uniform over the target instead; otherwise uniform over the union of false
// negatives (a positive click) and false positives (a negative click); a perfect prediction gives a
// negative click uniform over the background (or a positive one when there is no background).
Click correction_click(const Tensor& prediction, const Tensor& target, double probability_from_target,
                       Generator& generator);

// A mask prompt: the target resized (nearest) to size x size, optionally corrupted by shifting its
// boundary by up to `max_boundary_shift` pixels of that grid (a random dilation or erosion), and
// turned into logits +logit / -logit. (size, size) f32.
Tensor mask_prompt(const Tensor& mask, int64_t size, int64_t max_boundary_shift, double logit, Generator& generator);

}  // namespace qatd::train::data
