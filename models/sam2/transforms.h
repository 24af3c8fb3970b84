#pragma once
// SAM 2's image and prompt pre-processing and mask post-processing (sam2/utils/transforms.py), with
// the steps sam2/sam2_image_predictor.py takes around them.
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd::sam2 {

// (H, W) of an image, as the official orig_hw.
using ImageHW = std::array<int64_t, 2>;

struct SAM2TransformsOptions {
  int64_t resolution = 1024;  // the model's image_size S
  double mask_threshold = 0.0;
  // Connected-component cleanup of the masks before resizing, off at 0 (SAM2ImagePredictor's default): the
  // 8-connected background components (score <= mask_threshold) of area <= max_hole_area become
  // mask_threshold + 10, the foreground ones of area <= max_sprinkle_area mask_threshold - 10.
  double max_hole_area = 0.0;
  double max_sprinkle_area = 0.0;
};

// sam2.utils.transforms.SAM2Transforms
class SAM2Transforms {
 public:
  explicit SAM2Transforms(const SAM2TransformsOptions& options = {});
  const SAM2TransformsOptions& options() const { return options_; }

  // __call__ plus the batch dimension SAM2ImagePredictor.set_image adds: (H, W, 3) uint8 RGB ->
  // (1, 3, S, S) float32. ToTensor (x / 255), Resize((S, S)) on the float tensor (bilinear, antialias,
  // skipped when the image is already S x S, as torchvision does), Normalize(ImageNet mean, std).
  Tensor transform_image(const Tensor& image) const;
  // forward_batch: images of any sizes -> (B, 3, S, S).
  Tensor forward_batch(const std::vector<Tensor>& images) const;

  // Points (..., 2) as (x, y), f32 or f64 -> model input coordinates (same shape and dtype). With
  // normalize, they are pixels of an image of size orig_hw and are divided by (W, H) first; otherwise
  // they are already in [0, 1]. Throws when a point lies outside the image ([0, W] x [0, H], or
  // [0, 1]^2), naming the point and the image size.
  Tensor transform_coords(const Tensor& coords, bool normalize = false,
                          const std::optional<ImageHW>& orig_hw = std::nullopt) const;
  // Boxes (..., 4) as (x0, y0, x1, y1) -> (B, 2, 2) corner points, transformed as transform_coords;
  // throws naming the box when a corner lies outside the image.
  Tensor transform_boxes(const Tensor& boxes, bool normalize = false,
                         const std::optional<ImageHW>& orig_hw = std::nullopt) const;

  // Mask logits (B, C, h, w) -> float32 (B, C, H, W) at orig_hw: bilinear, align_corners=False, no
  // antialias. Differentiable.
  Tensor postprocess_masks(const Tensor& masks, const ImageHW& orig_hw) const;

 private:
  SAM2TransformsOptions options_;
};

// What SAM2ImagePredictor._prep_prompts and _predict build for the prompt encoder: points (N, 2) or
// (B, N, 2) in pixels with labels (N) or (B, N) (1 foreground, 0 background); a box (4) or (B, 4) in
// pixels. The box corners are prepended to the points with labels 2 and 3. Returns coordinates
// (B, M, 2) float32 in model input space and labels (B, M) int32. Either prompt may be undefined
// (not both). Throws when a point or box lies outside the image.
struct PreparedPrompts {
  Tensor point_coords;
  Tensor point_labels;
};
PreparedPrompts prepare_prompts(const SAM2Transforms& transforms, const Tensor& point_coords,
                                const Tensor& point_labels, const Tensor& box, const ImageHW& orig_hw,
                                bool normalize_coords = true);

}  // namespace qatd::sam2
