// Prompts simulated from masks. Mirrors sam2/modeling/sam2_utils.py: sample_box_points (box jitter),
// sample_random_points_from_errors (correction clicks) and sample_one_point_from_error_center (the
// centre click); the mask prompt is the ground truth as training/model/sam2.py feeds it, plus an optional
// boundary shift of ours (a corruption, so a model cannot just copy its prompt). The official samplers
// take the argmax of per-pixel uniform noise over a region, which is a uniform draw over that region;
// here it is one uniform index into the region, so every sampler costs O(H * W) and a fixed number of
// draws.
#include "train/data/prompt_sampling.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "engine/error.h"
#include "train/data/distance_transform.h"
#include "train/data/nearest_indices.h"

namespace qatd::train::data {

namespace {

// The mask as one byte per pixel (1 inside), row-major.
struct BinaryMask {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> inside;
  int64_t area = 0;
};

BinaryMask binary_mask(const Tensor& mask, std::string_view op, std::string_view what) {
  QATD_CHECK(mask.defined(), "{}: the {} is undefined", op, what);
  QATD_CHECK(mask.dim() == 2, "{}: the {} must be (H, W), got shape {}", op, what, shape_str(mask.shape()));
  QATD_CHECK(mask.numel() > 0, "{}: the {} is empty (shape {})", op, what, shape_str(mask.shape()));
  BinaryMask result{mask.size(0), mask.size(1), std::vector<uint8_t>(static_cast<size_t>(mask.numel())), 0};
  auto convert = [&](const auto* pixels, auto is_inside) {
    for (size_t i = 0; i < result.inside.size(); ++i) {
      result.inside[i] = is_inside(pixels[i]) ? 1 : 0;
      result.area += result.inside[i];
    }
  };
  const DType dtype = mask.dtype();
  if (dtype == DType::boolean) {
    convert(mask.contiguous().data<bool>(), [](bool value) { return value; });
  } else if (dtype == DType::u8) {
    convert(mask.contiguous().data<uint8_t>(), [](uint8_t value) { return value != 0; });
  } else if (dtype == DType::f64) {
    convert(mask.contiguous().data<double>(), [](double value) { return value > 0.0; });
  } else if (is_floating(dtype)) {
    convert(mask.to(DType::f32).contiguous().data<float>(), [](float value) { return value > 0.0f; });
  } else {
    fail("{}: the {} must be bool, uint8 or floating, got {}", op, what, dtype_name(dtype));
  }
  return result;
}

// A uniform index in [0, count).
int64_t uniform_index(Generator& generator, int64_t count) {
  return std::min(static_cast<int64_t>(generator.uniform() * static_cast<double>(count)), count - 1);
}

// The `rank`-th (0-based, row-major) pixel that satisfies `selected`.
template <typename Selected>
int64_t nth_selected(int64_t pixel_count, int64_t rank, Selected selected) {
  for (int64_t pixel = 0; pixel < pixel_count; ++pixel) {
    if (selected(pixel) && rank-- == 0) return pixel;
  }
  fail("prompt sampling: internal error, fewer selected pixels than counted");
}

Click click_at(int64_t pixel, int64_t width, int32_t label) {
  return {static_cast<float>(pixel % width), static_cast<float>(pixel / width), label};
}

// sample_random_points_from_errors for one mask and one point: uniform over false negatives
// (positive) and false positives (negative); with no error, negative over the background, or
// positive over the target when the target covers everything.
Click error_click(const BinaryMask& prediction, const BinaryMask& target, Generator& generator) {
  const int64_t pixels = target.height * target.width;
  const uint8_t* predicted = prediction.inside.data();
  const uint8_t* truth = target.inside.data();
  int64_t errors = 0;
  for (int64_t pixel = 0; pixel < pixels; ++pixel) errors += predicted[pixel] != truth[pixel];
  if (errors > 0) {
    const int64_t pixel =
        nth_selected(pixels, uniform_index(generator, errors), [&](int64_t p) { return predicted[p] != truth[p]; });
    return click_at(pixel, target.width, truth[pixel] ? 1 : 0);
  }
  const int64_t background = pixels - target.area;
  if (background > 0) {
    const int64_t pixel =
        nth_selected(pixels, uniform_index(generator, background), [&](int64_t p) { return !truth[p]; });
    return click_at(pixel, target.width, 0);
  }
  return click_at(uniform_index(generator, pixels), target.width, 1);
}

std::vector<uint8_t> resize_nearest(const BinaryMask& mask, int64_t size) {
  const std::vector<int64_t> source_columns = nearest_source_indices(mask.width, size);
  const std::vector<int64_t> source_rows = nearest_source_indices(mask.height, size);
  std::vector<uint8_t> resized(static_cast<size_t>(size * size));
  for (int64_t row = 0; row < size; ++row) {
    const uint8_t* source = mask.inside.data() + source_rows[row] * mask.width;
    for (int64_t column = 0; column < size; ++column) resized[row * size + column] = source[source_columns[column]];
  }
  return resized;
}

// Grows (shift > 0) or shrinks (shift < 0) the mask by |shift| pixels in Euclidean distance. An
// erosion that would remove the whole object is skipped, so a prompt never loses its object.
void shift_boundary(std::vector<uint8_t>& inside, int64_t size, int64_t shift) {
  if (shift > 0) {
    std::vector<uint8_t> outside(inside.size());
    for (size_t i = 0; i < inside.size(); ++i) outside[i] = inside[i] ? 0 : 1;
    const std::vector<int64_t> distance = squared_distance_to_background(outside.data(), size, size, false);
    for (size_t i = 0; i < inside.size(); ++i) inside[i] = distance[i] <= shift * shift ? 1 : 0;
  } else if (shift < 0) {
    const std::vector<int64_t> distance = squared_distance_to_background(inside.data(), size, size, false);
    std::vector<uint8_t> eroded(inside.size());
    bool any = false;
    for (size_t i = 0; i < inside.size(); ++i) {
      eroded[i] = distance[i] > shift * shift ? 1 : 0;
      any = any || eroded[i];
    }
    if (any) inside.swap(eroded);
  }
}

}  // namespace

std::vector<Click> sample_clicks(const Tensor& mask, int64_t count, bool positive, Generator& generator) {
  QATD_CHECK(count >= 0, "sample_clicks: the click count must be at least 0, got {}", count);
  const BinaryMask binary = binary_mask(mask, "sample_clicks", "mask");
  const int64_t pixels = binary.height * binary.width;
  const int64_t region = positive ? binary.area : pixels - binary.area;
  QATD_CHECK(region > 0, "sample_clicks: the {} x {} mask has no {} pixels to draw {} clicks from", binary.height,
             binary.width, positive ? "object" : "background", positive ? "positive" : "negative");
  std::vector<int64_t> candidates;
  candidates.reserve(static_cast<size_t>(region));
  const uint8_t wanted = positive ? 1 : 0;
  for (int64_t pixel = 0; pixel < pixels; ++pixel) {
    if (binary.inside[pixel] == wanted) candidates.push_back(pixel);
  }
  std::vector<Click> clicks;
  clicks.reserve(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    clicks.push_back(click_at(candidates[uniform_index(generator, region)], binary.width, positive ? 1 : 0));
  }
  return clicks;
}

BoxPrompt sample_box(const Tensor& mask, double noise, double max_noise, Generator& generator) {
  QATD_CHECK(std::isfinite(noise) && noise >= 0.0, "sample_box: noise must be finite and at least 0, got {}", noise);
  QATD_CHECK(std::isfinite(max_noise) && max_noise >= 0.0,
             "sample_box: max_noise must be finite and at least 0, got {}", max_noise);
  const BinaryMask binary = binary_mask(mask, "sample_box", "mask");
  QATD_CHECK(binary.area > 0, "sample_box: the {} x {} mask is empty, so it has no box", binary.height, binary.width);
  int64_t x0 = binary.width, y0 = binary.height, x1 = -1, y1 = -1;
  for (int64_t row = 0; row < binary.height; ++row) {
    const uint8_t* line = binary.inside.data() + row * binary.width;
    for (int64_t column = 0; column < binary.width; ++column) {
      if (!line[column]) continue;
      x0 = std::min(x0, column);
      x1 = std::max(x1, column);
      y0 = std::min(y0, row);
      y1 = row;
    }
  }
  BoxPrompt box{static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1), static_cast<float>(y1)};
  if (noise > 0.0) {
    // As mask_to_box and sample_box_points: the side is max - min, the bound is per coordinate.
    const double max_dx = std::min(noise * static_cast<double>(x1 - x0), max_noise);
    const double max_dy = std::min(noise * static_cast<double>(y1 - y0), max_noise);
    const double right = static_cast<double>(binary.width - 1), bottom = static_cast<double>(binary.height - 1);
    auto jitter = [&](float coordinate, double bound, double limit) {
      const double moved = coordinate + (2.0 * generator.uniform() - 1.0) * bound;
      return static_cast<float>(std::clamp(moved, 0.0, limit));
    };
    box.x0 = jitter(box.x0, max_dx, right);
    box.y0 = jitter(box.y0, max_dy, bottom);
    box.x1 = jitter(box.x1, max_dx, right);
    box.y1 = jitter(box.y1, max_dy, bottom);
  }
  return box;
}

Click center_click(const Tensor& mask) {
  const BinaryMask binary = binary_mask(mask, "center_click", "mask");
  QATD_CHECK(binary.area > 0, "center_click: the {} x {} mask is empty, so it has no centre", binary.height,
             binary.width);
  const std::vector<int64_t> distance =
      squared_distance_to_background(binary.inside.data(), binary.height, binary.width, true);
  // The first maximum in row-major order, as np.argmax.
  const int64_t pixel = std::max_element(distance.begin(), distance.end()) - distance.begin();
  return click_at(pixel, binary.width, 1);
}

Click correction_click(const Tensor& prediction, const Tensor& target, double probability_from_target,
                       Generator& generator) {
  QATD_CHECK(probability_from_target >= 0.0 && probability_from_target <= 1.0,
             "correction_click: probability_from_target must be in [0, 1], got {}", probability_from_target);
  const BinaryMask truth = binary_mask(target, "correction_click", "target");
  const BinaryMask predicted = binary_mask(prediction, "correction_click", "prediction");
  QATD_CHECK(predicted.height == truth.height && predicted.width == truth.width,
             "correction_click: the prediction is {} x {} but the target is {} x {}", predicted.height, predicted.width,
             truth.height, truth.width);
  // As training/model/sam2.py: the coin is tossed every time; heads samples the target alone, as
  // get_next_point with no prediction.
  if (generator.uniform() < probability_from_target) {
    BinaryMask nothing{truth.height, truth.width, std::vector<uint8_t>(truth.inside.size(), 0), 0};
    return error_click(nothing, truth, generator);
  }
  return error_click(predicted, truth, generator);
}

Tensor mask_prompt(const Tensor& mask, int64_t size, int64_t max_boundary_shift, double logit, Generator& generator) {
  QATD_CHECK(size >= 1, "mask_prompt: the size must be at least 1, got {}", size);
  QATD_CHECK(max_boundary_shift >= 0, "mask_prompt: max_boundary_shift must be at least 0, got {}", max_boundary_shift);
  QATD_CHECK(std::isfinite(logit) && logit > 0.0, "mask_prompt: the logit must be finite and positive, got {}", logit);
  const BinaryMask binary = binary_mask(mask, "mask_prompt", "mask");
  std::vector<uint8_t> inside = resize_nearest(binary, size);
  if (max_boundary_shift > 0) {
    const int64_t shift = uniform_index(generator, 2 * max_boundary_shift + 1) - max_boundary_shift;
    shift_boundary(inside, size, shift);
  }
  Tensor prompt = empty({size, size}, DType::f32);
  float* values = prompt.data<float>();
  const float positive = static_cast<float>(logit);
  for (size_t i = 0; i < inside.size(); ++i) values[i] = inside[i] ? positive : -positive;
  return prompt;
}

}  // namespace qatd::train::data
