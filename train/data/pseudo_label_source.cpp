#include "train/data/pseudo_label_source.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "models/sam2/transforms.h"
#include "train/data/image_files.h"
#include "train/data/nearest_indices.h"
#include "train/prompted_prediction.h"

namespace qatd::train::data {

namespace fs = std::filesystem;

namespace {

double mask_iou(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int64_t both = 0, either = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    both += a[i] & b[i];
    either += a[i] | b[i];
  }
  return either == 0 ? 0.0 : static_cast<double>(both) / static_cast<double>(either);
}

}  // namespace

PseudoLabelSource::PseudoLabelSource(const std::string& folder, std::shared_ptr<sam2::SAM2Base> teacher,
                                     const PseudoLabelOptions& options)
    : teacher_(std::move(teacher)), options_(options) {
  QATD_CHECK(fs::is_directory(folder), "pseudo-label data: '{}' is not a folder", folder);
  QATD_CHECK(options.points_per_side >= 1, "pseudo-label data: points_per_side must be >= 1, got {}",
             options.points_per_side);
  for (const fs::path& relative : list_image_files(folder, false)) {
    files_.push_back((fs::path(folder) / relative).string());
  }
  QATD_CHECK(!files_.empty(), "pseudo-label data: '{}' holds no .jpg or .png image", folder);
}

std::string PseudoLabelSource::name(int64_t index) const { return files_.at(index); }

std::vector<Rle> PseudoLabelSource::label(const Tensor& image) const {
  std::lock_guard<std::mutex> lock(teacher_mutex_);
  sam2::SAM2Base& model = *teacher_;
  const int64_t size = model.image_size;
  sam2::SAM2Transforms transforms(sam2::SAM2TransformsOptions{.resolution = size});
  ImageEmbedding embedding = embed_image(model, transforms.transform_image(image));
  const int64_t side = options_.points_per_side;
  std::vector<float> coordinates;
  for (int64_t row = 0; row < side; ++row) {
    for (int64_t column = 0; column < side; ++column) {
      coordinates.push_back(static_cast<float>((column + 0.5) * size / side));
      coordinates.push_back(static_cast<float>((row + 0.5) * size / side));
    }
  }
  const int64_t count = side * side;
  sam2::SamOutputs outputs = predict_prompts(model, embedding, from_vector(coordinates, {count, 1, 2}),
                                             full({count, 1}, 1.0, DType::i32));
  Tensor masks = gt(outputs.high_res_masks.squeeze(1), 0.0).to(DType::u8).contiguous();  // (N, S, S)
  std::vector<float> best_iou = amax(outputs.ious, {1}).to_vector<float>();

  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return best_iou[a] > best_iou[b]; });
  std::vector<std::vector<uint8_t>> kept;
  const int64_t plane = size * size;
  for (int64_t candidate : order) {
    if (best_iou[candidate] < options_.min_iou) break;
    const uint8_t* pixels = masks.data<uint8_t>() + candidate * plane;
    std::vector<uint8_t> mask(pixels, pixels + plane);
    if (std::none_of(mask.begin(), mask.end(), [](uint8_t value) { return value != 0; })) continue;
    bool duplicate = std::any_of(kept.begin(), kept.end(),
                                 [&](const auto& other) { return mask_iou(mask, other) > options_.max_overlap; });
    if (!duplicate) kept.push_back(std::move(mask));
  }
  // Back to the image's size by nearest neighbour.
  const int64_t height = image.size(0), width = image.size(1);
  const std::vector<int64_t> rows = nearest_source_indices(size, height);
  const std::vector<int64_t> columns = nearest_source_indices(size, width);
  std::vector<Rle> labels;
  for (const std::vector<uint8_t>& mask : kept) {
    Tensor resized = zeros({height, width}, DType::boolean);
    bool* target = resized.data<bool>();
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) target[y * width + x] = mask[rows[y] * size + columns[x]] != 0;
    }
    Rle rle = rle_encode(resized);
    if (rle_area(rle) > 0) labels.push_back(std::move(rle));
  }
  return labels;
}

AnnotatedImage PseudoLabelSource::load(int64_t index) const {
  QATD_CHECK(index >= 0 && index < size(), "pseudo-label data: image {} does not exist ({} images)", index, size());
  AnnotatedImage annotated{io::read_image(files_[index]), {}, files_[index]};
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto found = cache_.find(index);
    if (found != cache_.end()) {
      annotated.masks = found->second;
      return annotated;
    }
  }
  std::vector<Rle> labels = label(annotated.image);
  QATD_CHECK(!labels.empty(), "{}: the teacher found no object with predicted IoU >= {}", files_[index],
             options_.min_iou);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  annotated.masks = cache_.emplace(index, std::move(labels)).first->second;
  return annotated;
}

}  // namespace qatd::train::data
