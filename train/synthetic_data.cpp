#include "train/synthetic_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "engine/error.h"
#include "engine/ops/shape_ops.h"
#include "engine/random.h"

namespace qatd::train {

namespace {

// ImageNet statistics, as SAM2Transforms normalizes.
constexpr std::array<float, 3> kMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kStd = {0.229f, 0.224f, 0.225f};

// SplitMix64: decorrelates the seeds of neighbouring samples and epochs.
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Ellipse {
  double cx, cy, rx, ry, angle;
  std::array<float, 3> color;

  bool contains(double x, double y) const {
    double dx = x - cx, dy = y - cy;
    double c = std::cos(angle), s = std::sin(angle);
    double u = (c * dx + s * dy) / rx, v = (-s * dx + c * dy) / ry;
    return u * u + v * v <= 1.0;
  }
};

Ellipse random_ellipse(Generator& generator, double size) {
  Ellipse e{};
  e.cx = size * (0.25 + 0.5 * generator.uniform());
  e.cy = size * (0.25 + 0.5 * generator.uniform());
  e.rx = size * (0.08 + 0.17 * generator.uniform());
  e.ry = size * (0.08 + 0.17 * generator.uniform());
  e.angle = std::numbers::pi * generator.uniform();
  for (float& channel : e.color) channel = static_cast<float>(generator.uniform());
  return e;
}

}  // namespace

SyntheticDataset::SyntheticDataset(const DataSettings& settings) : settings_(settings) {
  QATD_CHECK(settings.source == DataSource::synthetic,
             "data.source = \"{}\" is not yet supported by the trainer (real image folders arrive with issue 7); use "
             "data.source = \"synthetic\"",
             to_string(settings.source));
  QATD_CHECK(settings.count >= 1, "data.count must be at least 1, got {}", settings.count);
  QATD_CHECK(settings.image_size >= 16, "data.image_size must be at least 16, got {}", settings.image_size);
  QATD_CHECK(settings.points_per_mask >= 1, "data.points_per_mask must be at least 1, got {}",
             settings.points_per_mask);
}

Sample SyntheticDataset::sample(int64_t index) const {
  QATD_CHECK(index >= 0 && index < settings_.count, "synthetic data: sample {} does not exist ({} samples)", index,
             settings_.count);
  Generator generator(mix(static_cast<uint64_t>(settings_.seed), static_cast<uint64_t>(index)));
  const int64_t size = settings_.image_size;
  const double extent = static_cast<double>(size);
  // Background: a linear shade in a random direction plus pixel noise; then distractors, then
  // the object on top, so the object's mask is exactly its ellipse.
  std::array<float, 3> base{};
  for (float& channel : base) channel = static_cast<float>(0.3 + 0.4 * generator.uniform());
  const double shade_angle = 2.0 * std::numbers::pi * generator.uniform();
  const double shade_x = 0.3 * std::cos(shade_angle) / extent, shade_y = 0.3 * std::sin(shade_angle) / extent;
  std::vector<Ellipse> ellipses;
  const int64_t distractors = 1 + static_cast<int64_t>(generator.uniform() * 2.0);
  for (int64_t k = 0; k <= distractors; ++k) ellipses.push_back(random_ellipse(generator, extent));

  Tensor image = zeros({3, size, size});
  Tensor mask = zeros({size, size});
  float* pixels = image.data<float>();
  float* target = mask.data<float>();
  const int64_t plane = size * size;
  for (int64_t y = 0; y < size; ++y) {
    for (int64_t x = 0; x < size; ++x) {
      const double px = static_cast<double>(x) + 0.5, py = static_cast<double>(y) + 0.5;
      const float shade = static_cast<float>(shade_x * (px - extent / 2) + shade_y * (py - extent / 2));
      const float noise = static_cast<float>(0.1 * (generator.uniform() - 0.5));
      std::array<float, 3> rgb = {base[0] + shade, base[1] + shade, base[2] + shade};
      for (size_t k = 0; k < ellipses.size(); ++k) {
        if (ellipses[k].contains(px, py)) {
          rgb = ellipses[k].color;
          if (k + 1 == ellipses.size()) target[y * size + x] = 1.0f;
        }
      }
      for (int64_t c = 0; c < 3; ++c) {
        float value = std::clamp(rgb[c] + noise, 0.0f, 1.0f);
        pixels[c * plane + y * size + x] = (value - kMean[c]) / kStd[c];
      }
    }
  }

  // Clicks: uniform over the object's pixels (its ellipse always covers some, radii >= 8% of S).
  std::vector<int64_t> inside;
  for (int64_t p = 0; p < plane; ++p) {
    if (target[p] > 0.5f) inside.push_back(p);
  }
  QATD_CHECK(!inside.empty(), "synthetic data: sample {} has an empty mask", index);
  const int64_t points = settings_.points_per_mask;
  std::vector<float> coords;
  for (int64_t k = 0; k < points; ++k) {
    int64_t pick = inside[std::min<int64_t>(static_cast<int64_t>(generator.uniform() * inside.size()),
                                            static_cast<int64_t>(inside.size()) - 1)];
    coords.push_back(static_cast<float>(pick % size) + 0.5f);
    coords.push_back(static_cast<float>(pick / size) + 0.5f);
  }
  return {image, mask, from_vector(coords, {points, 2})};
}

std::vector<int64_t> SyntheticDataset::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(settings_.count);
  for (int64_t i = 0; i < settings_.count; ++i) order[i] = i;
  if (!settings_.shuffle) return order;
  // Fisher-Yates with the engine's generator (the standard library's shuffle is not portable).
  Generator generator(mix(mix(static_cast<uint64_t>(settings_.seed), 0x5EED0F0D), static_cast<uint64_t>(epoch)));
  for (int64_t i = settings_.count - 1; i > 0; --i) {
    int64_t j = std::min<int64_t>(static_cast<int64_t>(generator.uniform() * (i + 1)), i);
    std::swap(order[i], order[j]);
  }
  return order;
}

BatchLoader::BatchLoader(const SyntheticDataset& dataset, int64_t batch_size)
    : dataset_(dataset), batch_size_(batch_size) {
  QATD_CHECK(batch_size >= 1, "train.batch_size must be at least 1, got {}", batch_size);
}

void BatchLoader::set_position(const DataPosition& position) {
  QATD_CHECK(position.epoch >= 0 && position.index >= 0 && position.index < dataset_.size(),
             "synthetic data: position (epoch {}, index {}) is outside the dataset of {} samples", position.epoch,
             position.index, dataset_.size());
  position_ = position;
}

Batch BatchLoader::next() {
  std::vector<Tensor> images, masks, coords;
  Batch batch;
  for (int64_t k = 0; k < batch_size_; ++k) {
    if (order_epoch_ != position_.epoch) {
      order_ = dataset_.epoch_order(position_.epoch);
      order_epoch_ = position_.epoch;
    }
    int64_t index = order_[position_.index];
    Sample sample = dataset_.sample(index);
    images.push_back(sample.image);
    masks.push_back(sample.mask);
    coords.push_back(sample.point_coords);
    batch.indices.push_back(index);
    if (++position_.index == dataset_.size()) position_ = {position_.epoch + 1, 0};
  }
  batch.images = stack(images);
  batch.masks = stack(masks);
  batch.point_coords = stack(coords);
  batch.point_labels = full({batch_size_, batch.point_coords.size(1)}, 1.0, DType::i32);
  return batch;
}

}  // namespace qatd::train
