#pragma once
// Where annotated images come from. One interface for every format the trainer reads: SA-1B
// (sa1b_source.h), image folders with PNG instance masks (mask_folder_source.h), SA-V frames with
// masklet JSON (sav_source.h), procedural shapes (procedural_shapes.h) and teacher pseudo-labels
// (pseudo_label_source.h). An item is one image with all its instance masks at the image's own
// resolution; items are numbered 0..size()-1 in a fixed order (sorted file names), so a seed alone
// fixes the train/validation split and every epoch's order.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "train/data/coco_rle.h"

namespace qatd::train::data {

struct AnnotatedImage {
  Tensor image;            // (H, W, 3) uint8 RGB
  std::vector<Rle> masks;  // one per instance, each H x W; empty instances are left out
  std::string name;        // the file (or "procedural #i"), for messages and reports
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  // The item's name without loading it (a path), for messages.
  virtual std::string name(int64_t index) const = 0;
  // Loads item `index`. A missing, unreadable or malformed file throws qatd::Error naming the file
  // and the reason (the loader skips and counts such items). Safe to call from several threads.
  virtual AnnotatedImage load(int64_t index) const = 0;
};

}  // namespace qatd::train::data
