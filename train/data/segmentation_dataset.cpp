#include "train/data/segmentation_dataset.h"

#include <algorithm>
#include <numeric>

#include "engine/error.h"
#include "engine/io/image_resize.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "engine/random.h"
#include "train/data/nearest_indices.h"
#include "train/data/prompt_sampling.h"
#include "train/data/seed_mix.h"

namespace qatd::train::data {

namespace {

// Streams of the generator, so that the split, the epoch orders, the prompt choices and the samples
// never share random numbers.
enum Stream : uint64_t { kSplit = 0x5b1, kOrder = 0x5eed0f0d, kPrompt = 0x9a0, kSample = 0x5a3 };

Generator stream_generator(int64_t seed, Stream stream, int64_t a, int64_t b = 0) {
  return Generator(mix(mix(mix(static_cast<uint64_t>(seed), stream), static_cast<uint64_t>(a)), static_cast<uint64_t>(b)));
}

int64_t uniform_index(Generator& generator, int64_t count) {
  return std::min<int64_t>(static_cast<int64_t>(generator.uniform() * static_cast<double>(count)), count - 1);
}

// Fisher-Yates with the engine's generator (the standard library's shuffle is not portable).
std::vector<int64_t> permutation(int64_t count, Generator& generator) {
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = count - 1; i > 0; --i) std::swap(order[i], order[uniform_index(generator, i + 1)]);
  return order;
}

// The window [y0, y0 + height) x [x0, x0 + width) of a (H, W) bool mask, resized to size x size by
// nearest neighbour, mirrored when `flip`.
Tensor resize_mask_window(const Tensor& mask, int64_t y0, int64_t x0, int64_t height, int64_t width, int64_t size,
                          bool flip) {
  const int64_t mask_width = mask.size(1);
  const bool* source = mask.data<bool>();
  Tensor out = zeros({size, size});
  float* target = out.data<float>();
  std::vector<int64_t> columns = nearest_source_indices(width, size);
  if (flip) std::reverse(columns.begin(), columns.end());
  for (int64_t& column : columns) column += x0;
  const std::vector<int64_t> rows = nearest_source_indices(height, size);
  for (int64_t i = 0; i < size; ++i) {
    const bool* line = source + (y0 + rows[i]) * mask_width;
    for (int64_t j = 0; j < size; ++j) target[i * size + j] = line[columns[j]] ? 1.0f : 0.0f;
  }
  return out;
}

bool any_inside(const Tensor& mask) {
  const float* pixels = mask.data<float>();
  return std::any_of(pixels, pixels + mask.numel(), [](float value) { return value > 0.5f; });
}

}  // namespace

SegmentationDataset::SegmentationDataset(std::shared_ptr<const ImageSource> source, const DataSettings& settings,
                                         Split split, int64_t mask_prompt_size)
    : source_(std::move(source)),
      settings_(settings),
      split_(split),
      mask_prompt_size_(mask_prompt_size),
      transforms_(sam2::SAM2TransformsOptions{.resolution = settings.image_size}) {
  const int64_t total = source_->size();
  const int64_t held_out = settings.validation_count;
  if (settings.source == DataSource::synthetic) {
    QATD_CHECK(total == settings.count + held_out, "the procedural source has {} items, expected data.count {} + "
               "data.validation_count {}", total, settings.count, held_out);
    for (int64_t i = 0; i < settings.count; ++i) {
      if (split == Split::train) items_.push_back(i);
    }
    for (int64_t i = 0; i < held_out; ++i) {
      if (split == Split::validation) items_.push_back(settings.count + i);
    }
  } else {
    QATD_CHECK(held_out < total, "data.validation_count = {} leaves no training images: the data has {} images",
               held_out, total);
    Generator generator = stream_generator(settings.seed, kSplit, 0);
    std::vector<int64_t> order = permutation(total, generator);
    auto first = order.begin() + (split == Split::validation ? 0 : held_out);
    auto last = split == Split::validation ? order.begin() + held_out : order.end();
    items_.assign(first, last);
    std::sort(items_.begin(), items_.end());
  }
  QATD_CHECK(!items_.empty(), "the {} split is empty (data.validation_count = {})",
             split == Split::train ? "training" : "validation", held_out);
}

std::string SegmentationDataset::item_name(int64_t index) const { return source_->name(items_.at(index)); }

std::vector<int64_t> SegmentationDataset::epoch_order(int64_t epoch) const {
  if (!settings_.shuffle) {
    std::vector<int64_t> order(size());
    std::iota(order.begin(), order.end(), 0);
    return order;
  }
  Generator generator = stream_generator(settings_.seed, kOrder, epoch);
  return permutation(size(), generator);
}

PromptChoice SegmentationDataset::prompt_choice(int64_t epoch, int64_t first_index) const {
  Generator generator = stream_generator(settings_.seed, kPrompt, epoch, first_index);
  PromptChoice choice;
  choice.kind = generator.uniform() < settings_.box_probability ? PromptKind::box : PromptKind::points;
  choice.mask_prompt = generator.uniform() < settings_.mask_probability;
  return choice;
}

Sample SegmentationDataset::sample(int64_t index, int64_t epoch, const PromptChoice& choice) const {
  QATD_CHECK(index >= 0 && index < size(), "sample {} does not exist ({} samples)", index, size());
  const int64_t item = items_[index];
  AnnotatedImage annotated = source_->load(item);
  QATD_CHECK(!annotated.masks.empty(), "{}: no object masks", annotated.name);
  Generator generator = stream_generator(settings_.seed, kSample, epoch, item);
  const int64_t height = annotated.image.size(0), width = annotated.image.size(1);
  const int64_t size = settings_.image_size;

  int64_t object = uniform_index(generator, static_cast<int64_t>(annotated.masks.size()));
  Tensor full_mask = rle_decode(annotated.masks[object]);
  // The zoom window must keep part of the object: it contains one object pixel chosen at random.
  const double scale = 1.0 + settings_.scale_jitter * generator.uniform();
  const int64_t window_height = std::max<int64_t>(1, static_cast<int64_t>(height / scale));
  const int64_t window_width = std::max<int64_t>(1, static_cast<int64_t>(width / scale));
  Click anchor = sample_clicks(full_mask, 1, true, generator)[0];
  auto window_start = [&](int64_t anchor_position, int64_t window, int64_t extent) {
    int64_t low = std::max<int64_t>(0, anchor_position - window + 1), high = std::min(anchor_position, extent - window);
    return low + uniform_index(generator, high - low + 1);
  };
  int64_t y0 = window_start(static_cast<int64_t>(anchor.y), window_height, height);
  int64_t x0 = window_start(static_cast<int64_t>(anchor.x), window_width, width);
  const bool flip = generator.uniform() < settings_.hflip;

  Tensor mask = resize_mask_window(full_mask, y0, x0, window_height, window_width, size, flip);
  if (!any_inside(mask)) {
    // The object is thinner than a pixel of the zoomed, resized window: fall back to the whole image.
    y0 = x0 = 0;
    mask = resize_mask_window(full_mask, 0, 0, height, width, size, flip);
  }
  QATD_CHECK(any_inside(mask), "{}: object {} covers no pixel at {}x{}", annotated.name, object, size, size);
  Tensor window = annotated.image.narrow(0, y0, window_height).narrow(1, x0, window_width);
  if (flip) window = qatd::flip(window, {1});
  Tensor image = transforms_.transform_image(window.contiguous()).squeeze(0);

  // More objects of the same view (data.objects_per_image), drawn without replacement among the others;
  // one that the zoom window cuts away entirely is passed over.
  std::vector<int64_t> objects = {object};
  std::vector<Tensor> masks = {mask};
  if (settings_.objects_per_image > 1) {
    std::vector<int64_t> others = permutation(static_cast<int64_t>(annotated.masks.size()), generator);
    for (int64_t other : others) {
      if (static_cast<int64_t>(objects.size()) == settings_.objects_per_image) break;
      if (other == object) continue;
      Tensor other_mask = resize_mask_window(rle_decode(annotated.masks[other]), y0, x0, window_height, window_width,
                                             size, flip);
      if (!any_inside(other_mask)) continue;
      objects.push_back(other);
      masks.push_back(other_mask);
    }
  }

  Sample sample{image, stack(masks), Tensor(), Tensor(), Tensor(), item, objects};
  std::vector<float> coordinates;
  std::vector<int32_t> labels;
  std::vector<Tensor> mask_prompts;
  for (const Tensor& object_mask : masks) {
    if (choice.kind == PromptKind::box) {
      BoxPrompt box = sample_box(object_mask, settings_.box_noise, settings_.box_noise_max, generator);
      coordinates.insert(coordinates.end(), {box.x0, box.y0, box.x1, box.y1});
      labels.insert(labels.end(), {2, 3});
    } else {
      for (const Click& click : sample_clicks(object_mask, settings_.points_per_mask, true, generator)) {
        coordinates.insert(coordinates.end(), {click.x, click.y});
        labels.push_back(click.label);
      }
    }
    if (choice.mask_prompt) {
      mask_prompts.push_back(
          mask_prompt(object_mask, mask_prompt_size_, settings_.mask_boundary_shift, 20.0, generator).unsqueeze(0));
    }
  }
  const int64_t count = static_cast<int64_t>(masks.size());
  const int64_t points = static_cast<int64_t>(labels.size()) / count;
  sample.point_coords = from_vector(coordinates, {count, points, 2});
  sample.point_labels = from_vector(labels, {count, points});
  if (choice.mask_prompt) sample.mask_prompt = stack(mask_prompts);
  return sample;
}

ValidationImage SegmentationDataset::validation_image(int64_t index) const {
  QATD_CHECK(index >= 0 && index < size(), "validation image {} does not exist ({} images)", index, size());
  AnnotatedImage annotated = source_->load(items_[index]);
  const int64_t height = annotated.image.size(0), width = annotated.image.size(1);
  const int64_t size = settings_.image_size;
  std::vector<size_t> order(annotated.masks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rle_area(annotated.masks[a]) > rle_area(annotated.masks[b]); });
  ValidationImage validation;
  validation.name = annotated.name;
  validation.image = transforms_.transform_image(annotated.image).squeeze(0);
  validation.pixels = io::resize_image(annotated.image, size, size, io::ResampleFilter::bilinear);
  for (size_t object : order) {
    if (static_cast<int64_t>(validation.masks.size()) == settings_.eval_objects) break;
    Tensor mask = resize_mask_window(rle_decode(annotated.masks[object]), 0, 0, height, width, size, false);
    if (any_inside(mask)) validation.masks.push_back(gt(mask, 0.5));
  }
  return validation;
}

}  // namespace qatd::train::data
