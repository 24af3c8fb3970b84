#pragma once
// Teacher pseudo-labels for a folder of unlabeled images (data.source = "pseudo"), in the manner of
// SAM's automatic mask generator, simplified: a grid of points_per_side^2 single positive clicks at
// the cell centres of the model's input, each through the teacher (multimask output, the mask with
// the highest predicted IoU); masks predicting an IoU below min_iou or covering nothing are dropped,
// and of two masks overlapping by more than max_overlap (mask IoU) only the one with the higher
// predicted IoU is kept. Masks are made at the model's resolution and resized (nearest) to the
// image's size. Each image is labelled on its first load and kept in memory; labelling runs one image
// at a time (the teacher is shared), loading and decoding in parallel.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "models/sam2/sam2_base.h"
#include "train/data/image_source.h"

namespace qatd::train::data {

struct PseudoLabelOptions {
  int64_t points_per_side = 16;
  double min_iou = 0.8;
  double max_overlap = 0.7;
};

class PseudoLabelSource : public ImageSource {
 public:
  // The folder's .jpg/.jpeg/.png files (not recursive), sorted. Throws naming the folder when it does
  // not exist or holds no image.
  PseudoLabelSource(const std::string& folder, std::shared_ptr<sam2::SAM2Base> teacher,
                    const PseudoLabelOptions& options = {});
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  std::string name(int64_t index) const override;
  AnnotatedImage load(int64_t index) const override;

 private:
  std::vector<Rle> label(const Tensor& image) const;

  std::vector<std::string> files_;
  std::shared_ptr<sam2::SAM2Base> teacher_;
  PseudoLabelOptions options_;
  mutable std::mutex teacher_mutex_;
  mutable std::mutex cache_mutex_;
  mutable std::map<int64_t, std::vector<Rle>> cache_;
};

}  // namespace qatd::train::data
