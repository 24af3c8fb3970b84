#pragma once
// A deterministic dataset for `data.source = "synthetic"`: images of smooth ellipses on a noisy,
// shaded background, each with the ground-truth mask of one of its ellipses (the object) and point
// prompts sampled inside that mask. Sample i depends only on (data.seed, i), and the order of an
// epoch only on (seed, epoch), so a DataPosition (epoch, index) is the whole state a resumed run
// needs to continue with exactly the batches an uninterrupted run sees.
//
// Images are in the model's input space: S x S (data.image_size) RGB in [0, 1], normalized with
// the ImageNet mean and std as SAM 2's transforms do; point coordinates are model-input pixels
// (pixel centres), labels 1 (positive clicks), as SAM2Base::forward_sam_heads takes them.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "train/train_config.h"

namespace qatd::train {

struct Sample {
  Tensor image;         // [3, S, S] f32, normalized
  Tensor mask;          // [S, S] f32, 1 inside the object
  Tensor point_coords;  // [P, 2] f32, (x, y) in pixels
};

struct Batch {
  Tensor images;        // [B, 3, S, S]
  Tensor masks;         // [B, S, S]
  Tensor point_coords;  // [B, P, 2]
  Tensor point_labels;  // [B, P] i32, all 1
  std::vector<int64_t> indices;  // the samples, for logs and tests
};

// Where the next batch starts: the epoch and the position within that epoch's order.
struct DataPosition {
  int64_t epoch = 0;
  int64_t index = 0;
  bool operator==(const DataPosition&) const = default;
};

class SyntheticDataset {
 public:
  // Throws for data.source = "folder" (real images arrive with issue 7) and for a count, image
  // size or points_per_mask out of range.
  explicit SyntheticDataset(const DataSettings& settings);
  int64_t size() const { return settings_.count; }
  int64_t image_size() const { return settings_.image_size; }
  Sample sample(int64_t index) const;
  // The order of the samples in `epoch` (a seeded permutation, or 0..count-1 without shuffle).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  DataSettings settings_;
};

// Batches in the dataset's epoch order; a batch that crosses the end of an epoch continues with
// the next epoch's order.
class BatchLoader {
 public:
  BatchLoader(const SyntheticDataset& dataset, int64_t batch_size);
  Batch next();
  const DataPosition& position() const { return position_; }
  void set_position(const DataPosition& position);

 private:
  const SyntheticDataset& dataset_;
  int64_t batch_size_;
  DataPosition position_;
  int64_t order_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace qatd::train
