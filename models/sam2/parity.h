#pragma once
// Parity against the official implementation: runs the model on a reference directory (the
// layout of shared/reference/sam2_micro_a: meta.json, model.pt, image.png, image_io.safetensors,
// image_grads.safetensors) and compares every reference tensor it can compute. Nothing here is
// specific to one reference: the config comes from meta.json, any image size works.
#include <string>
#include <vector>

#include "engine/shape.h"

namespace qatd::sam2 {

struct ParityOptions {
  bool image = true;
  bool video = true;
  double forward_tolerance = 1e-4;   // on ||ours - ref|| / ||ref||
  double gradient_tolerance = 1e-3;
};

struct ParityRow {
  std::string name;
  Shape shape;
  double relative_error = 0.0;  // ||ours - ref|| / ||ref|| (the plain norm when ref is zero)
  double max_abs = 0.0;
  double tolerance = 0.0;
  bool gradient = false;
  // The reference gradient is float32 noise around zero (its norm is below 1e-5 of the largest
  // reference gradient); the row passes when ours is equally close to zero.
  bool zero_reference = false;
  // The reference stores the tensor in bfloat16 (memory features): the row passes when every
  // element is within one bfloat16 step of the reference.
  bool bfloat16_steps = false;
  bool passed = false;
  std::string problem;  // why a row failed other than by its error (shape, missing, NaN)
};

struct ParityReport {
  std::vector<ParityRow> rows;
  bool passed() const;
  // One line per row: name, shape, relative error, max abs difference, tolerance, verdict.
  std::string table() const;
};

ParityReport run_parity(const std::string& directory, const ParityOptions& options);

}  // namespace qatd::sam2
