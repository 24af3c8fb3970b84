#pragma once
// Batches from a SegmentationDataset in its epoch order, made ahead of time by worker threads.
//
// Batch k starts at a DataPosition (epoch, index) and takes the next batch_size samples of the
// epoch orders (continuing into the next epoch), so the position after each batch is known before
// any sample loads: workers build up to `prefetch` batches ahead, and a DataPosition is the whole
// state a resumed run needs to see exactly the batches an uninterrupted run sees. A sample whose item
// fails to load (missing, corrupt or malformed file) is replaced by the next item of the same
// epoch's order that loads; each failure is counted and its message kept, so a bad file costs a
// duplicate sample, never the run. Workers run the engine's kernels on one thread each.
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "train/data/segmentation_dataset.h"

namespace qatd::train::data {

// B images and N >= B objects on them (N = B with data.objects_per_image = 1), the objects of each
// image consecutive, as SAM 2's BatchedVideoDatapoint lays them out.
struct Batch {
  Tensor images;        // (B, 3, S, S)
  Tensor masks;         // (N, S, S) f32
  Tensor point_coords;  // (N, P, 2) f32
  Tensor point_labels;  // (N, P) i32
  Tensor mask_inputs;   // (N, 1, 4e, 4e) f32 logits, or undefined without mask prompts
  std::vector<int64_t> object_images;  // (N): the image of each object, an index into `images`
  PromptChoice prompts;
  std::vector<int64_t> indices;  // dataset indices (after replacements), for logs and tests
};

struct DataPosition {
  int64_t epoch = 0;
  int64_t index = 0;
  bool operator==(const DataPosition&) const = default;
};

class WorkerPool;

class BatchLoader {
 public:
  // workers = 0 makes every batch in the calling thread when next() asks for it.
  BatchLoader(const SegmentationDataset& dataset, int64_t batch_size, int64_t workers = 0, int64_t prefetch = 2);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  Batch next();
  // Where the next batch returned by next() starts.
  const DataPosition& position() const { return position_; }
  void set_position(const DataPosition& position);

  // Samples replaced because their item failed to load, and the distinct messages, in order.
  int64_t skipped() const { return skipped_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  struct Made;
  std::shared_ptr<const std::vector<int64_t>> order_of(int64_t epoch);
  void fill_queue();
  DataPosition advance(DataPosition position) const;

  const SegmentationDataset& dataset_;
  int64_t batch_size_;
  int64_t prefetch_;
  std::unique_ptr<WorkerPool> pool_;
  DataPosition position_;  // of the next batch handed out
  DataPosition planned_;   // of the next batch to queue
  std::deque<std::shared_future<std::shared_ptr<Made>>> queue_;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders_;  // epochs still planned from
  int64_t skipped_ = 0;
  std::vector<std::string> failures_;
};

}  // namespace qatd::train::data
