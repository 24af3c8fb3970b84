#include "train/data/batch_loader.h"

#include <algorithm>
#include <optional>

#include "engine/error.h"
#include "engine/ops/shape_ops.h"
#include "train/data/worker_pool.h"

namespace qatd::train::data {

struct BatchLoader::Made {
  Batch batch;
  int64_t replaced = 0;
  std::vector<std::string> failures;
};

namespace {

// One batch: the dataset indices of its slots in the epoch orders and the prompts.
struct Plan {
  std::vector<std::pair<int64_t, std::shared_ptr<const std::vector<int64_t>>>> slots;  // (epoch, order)
  std::vector<int64_t> positions;
  PromptChoice prompts;
};

}  // namespace

BatchLoader::BatchLoader(const SegmentationDataset& dataset, int64_t batch_size, int64_t workers, int64_t prefetch)
    : dataset_(dataset), batch_size_(batch_size), prefetch_(prefetch) {
  QATD_CHECK(batch_size >= 1, "train.batch_size must be at least 1, got {}", batch_size);
  QATD_CHECK(workers >= 0, "data.workers must be >= 0, got {}", workers);
  QATD_CHECK(prefetch >= 1, "data.prefetch must be >= 1, got {}", prefetch);
  if (workers > 0) pool_ = std::make_unique<WorkerPool>(workers);
}

BatchLoader::~BatchLoader() {
  for (auto& pending : queue_) pending.wait();
}

DataPosition BatchLoader::advance(DataPosition position) const {
  if (++position.index == dataset_.size()) position = {position.epoch + 1, 0};
  return position;
}

void BatchLoader::set_position(const DataPosition& position) {
  QATD_CHECK(position.epoch >= 0 && position.index >= 0 && position.index < dataset_.size(),
             "data position (epoch {}, index {}) is outside the dataset of {} samples", position.epoch, position.index,
             dataset_.size());
  for (auto& pending : queue_) pending.wait();
  queue_.clear();
  position_ = planned_ = position;
}

std::shared_ptr<const std::vector<int64_t>> BatchLoader::order_of(int64_t epoch) {
  orders_.erase(orders_.begin(), orders_.lower_bound(epoch));
  auto found = orders_.find(epoch);
  if (found != orders_.end()) return found->second;
  auto order = std::make_shared<const std::vector<int64_t>>(dataset_.epoch_order(epoch));
  orders_.emplace(epoch, order);
  return order;
}

void BatchLoader::fill_queue() {
  const int64_t wanted = pool_ ? prefetch_ : 1;
  while (static_cast<int64_t>(queue_.size()) < wanted) {
    Plan plan;
    plan.prompts = dataset_.prompt_choice(planned_.epoch, planned_.index);
    for (int64_t k = 0; k < batch_size_; ++k) {
      plan.slots.emplace_back(planned_.epoch, order_of(planned_.epoch));
      plan.positions.push_back(planned_.index);
      planned_ = advance(planned_);
    }
    auto build = [this, plan] {
      auto made = std::make_shared<Made>();
      std::vector<Tensor> images, masks, coordinates, labels, mask_inputs;
      for (size_t k = 0; k < plan.slots.size(); ++k) {
        const auto& [epoch, order] = plan.slots[k];
        const int64_t count = static_cast<int64_t>(order->size());
        std::optional<Sample> sample;
        int64_t index = 0;
        for (int64_t attempt = 0; attempt < count && !sample; ++attempt) {
          index = (*order)[(plan.positions[k] + attempt) % count];
          try {
            sample = dataset_.sample(index, epoch, plan.prompts);
          } catch (const Error& error) {
            ++made->replaced;
            made->failures.push_back(error.what());
          }
        }
        QATD_CHECK(sample.has_value(), "no item of the data could be loaded; the first error: {}",
                   made->failures.front());
        images.push_back(sample->image);
        masks.push_back(sample->masks);
        coordinates.push_back(sample->point_coords);
        labels.push_back(sample->point_labels);
        if (sample->mask_prompt.defined()) mask_inputs.push_back(sample->mask_prompt);
        made->batch.object_images.insert(made->batch.object_images.end(), sample->masks.size(0),
                                         static_cast<int64_t>(k));
        made->batch.indices.push_back(index);
      }
      made->batch.images = stack(images);
      made->batch.masks = cat(masks, 0);
      made->batch.point_coords = cat(coordinates, 0);
      made->batch.point_labels = cat(labels, 0);
      if (!mask_inputs.empty()) made->batch.mask_inputs = cat(mask_inputs, 0);
      made->batch.prompts = plan.prompts;
      return made;
    };
    if (pool_) {
      auto task = std::make_shared<std::packaged_task<std::shared_ptr<Made>()>>(build);
      queue_.push_back(task->get_future().share());
      pool_->submit([task] { (*task)(); });
    } else {
      std::promise<std::shared_ptr<Made>> promise;
      try {
        promise.set_value(build());
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
      queue_.push_back(promise.get_future().share());
    }
  }
}

Batch BatchLoader::next() {
  fill_queue();
  std::shared_future<std::shared_ptr<Made>> front = queue_.front();
  queue_.pop_front();
  std::shared_ptr<Made> made = front.get();
  for (int64_t k = 0; k < batch_size_; ++k) position_ = advance(position_);
  skipped_ += made->replaced;
  for (std::string& failure : made->failures) {
    if (std::find(failures_.begin(), failures_.end(), failure) == failures_.end()) failures_.push_back(failure);
  }
  fill_queue();
  return std::move(made->batch);
}

}  // namespace qatd::train::data
