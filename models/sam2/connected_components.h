#pragma once
// sam2/utils/misc.py get_connected_components (the CUDA kernel of sam2/csrc/connected_components.cu, here a
// CPU function) and fill_holes_in_mask_scores, which the predictors' mask post-processing uses.
#include "engine/tensor.h"

namespace qatd::sam2 {

// Per pixel, for the 8-connected components of the foreground (non-zero) pixels of each image:
// labels (N, 1, H, W) int32, 0 on the background, and counts (N, 1, H, W) int32, the area of the pixel's
// component (0 on the background).
struct ConnectedComponents {
  Tensor labels;
  Tensor counts;
};

// sam2.utils.misc.get_connected_components: mask (N, 1, H, W) bool or uint8 on the CPU.
// Labels are numbered as the CUDA kernel numbers them: the kernel unites 2x2 pixel blocks and labels a
// component 1 + the smallest linear index (row * W + column) of the top-left pixels of its blocks, i.e.
// 1 + (2 floor(r / 2)) W + 2 floor(c / 2) minimized over its pixels (r, c). Labels are therefore unique per
// component but neither consecutive nor starting at 1; the official callers (fill_holes_in_mask_scores,
// SAM2Transforms.postprocess_masks) only test labels > 0 and read the counts. Unlike the kernel, odd H
// and W are accepted.
ConnectedComponents get_connected_components(const Tensor& mask);

// sam2.utils.misc.fill_holes_in_mask_scores: mask (N, 1, H, W) scores (float). Every 8-connected
// component of background pixels (score <= 0) of area <= max_area, whether or not it touches the image
// border, gets the score 0.1; other pixels keep theirs (the gradient flows to them only). max_area > 0.
// The official code runs this only on CUDA; on the CPU its kernel is missing and it returns the mask
// unchanged (with a warning), which this function does not imitate.
Tensor fill_holes_in_mask_scores(const Tensor& mask, double max_area);

}  // namespace qatd::sam2
