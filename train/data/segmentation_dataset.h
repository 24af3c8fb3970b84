#pragma once
// Training and validation samples from any ImageSource: one image, one or more of its objects and a
// prompt for each, in the model's input space (S = data.image_size).
//
// - Split: a seeded permutation of the source's items; the first data.validation_count are validation,
//   the rest training. The procedural source has no files, so its validation items are extra ones
//   (indices count .. count + validation_count - 1) and all `count` items train.
// - Training sample (index, epoch): everything drawn from Generator(mix(seed, epoch, index)): the
//   object (uniform among the image's instances), a zoom crop (scale s ~ U(1, 1 + scale_jitter), a
//   window of 1/s of the image that keeps part of the object), a horizontal flip (data.hflip), then the
//   image through SAM2Transforms (resize to S x S, normalize) and the mask resized by nearest neighbour;
//   with data.objects_per_image = K > 1, up to K - 1 more objects visible in the same view (SAM 2's
//   sampler takes up to 3 objects per frame), so one image-encoder pass serves K prompts.
// - Validation samples: no augmentation; up to data.eval_objects objects per image, the largest first.
// - Prompts: PromptKind::box gives the jittered box (data.box_noise, data.box_noise_max) as two points
//   labelled 2 and 3; PromptKind::points data.points_per_mask positive clicks uniform over the mask.
//   A mask prompt (data.mask_probability) is the object's mask at 4x the image-embedding size with
//   its boundary moved by up to data.mask_boundary_shift pixels, as logits +/-20 (prompt_sampling.h).
//
// A source item that fails to load throws; the BatchLoader skips and counts it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "models/sam2/transforms.h"
#include "train/data/image_source.h"
#include "train/train_config.h"

namespace qatd::train::data {

enum class PromptKind { points, box };

// The prompts a batch uses: one kind for every element, so the point tensors stack without padding
// (SAM 2's trainer also chooses the prompt type per batch).
struct PromptChoice {
  PromptKind kind = PromptKind::points;
  bool mask_prompt = false;
  bool operator==(const PromptChoice&) const = default;
};

// One view of an image with K of its objects (K = data.objects_per_image, fewer when the view shows
// fewer), each with its own prompt.
struct Sample {
  Tensor image;                  // (3, S, S) f32, normalized
  Tensor masks;                  // (K, S, S) f32, 1 inside the object
  Tensor point_coords;           // (K, P, 2) f32, pixels of the S x S input
  Tensor point_labels;           // (K, P) i32: 1 / 0 clicks, 2 / 3 box corners
  Tensor mask_prompt;            // (K, 1, 4e, 4e) f32 logits when the choice asks for one, else undefined
  int64_t item = 0;              // the source item
  std::vector<int64_t> objects;  // the instances within the item, in the order of the masks
};

// One validation image in model space with its objects (no prompts: evaluation makes its own).
struct ValidationImage {
  Tensor image;                // (3, S, S) f32, normalized
  Tensor pixels;               // (S, S, 3) u8, the resized image for overlays
  std::vector<Tensor> masks;   // each (S, S) bool
  std::string name;
};

enum class Split { train, validation };

class SegmentationDataset {
 public:
  // mask_prompt_size: 4x the model's image-embedding side (SAM 2's mask input size).
  SegmentationDataset(std::shared_ptr<const ImageSource> source, const DataSettings& settings, Split split,
                      int64_t mask_prompt_size);

  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  const DataSettings& settings() const { return settings_; }
  std::string item_name(int64_t index) const;

  // The order of the samples in `epoch`: a seeded permutation, or 0..size-1 without shuffle.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Which prompts the batch starting at (epoch, first index) uses.
  PromptChoice prompt_choice(int64_t epoch, int64_t first_index) const;

  Sample sample(int64_t index, int64_t epoch, const PromptChoice& choice) const;
  ValidationImage validation_image(int64_t index) const;

 private:
  std::shared_ptr<const ImageSource> source_;
  DataSettings settings_;
  Split split_;
  int64_t mask_prompt_size_;
  std::vector<int64_t> items_;  // source items of this split
  sam2::SAM2Transforms transforms_;
};

}  // namespace qatd::train::data
