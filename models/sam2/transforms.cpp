#include "models/sam2/transforms.h"

#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/shape_ops.h"
#include "models/sam2/connected_components.h"

namespace qatd::sam2 {

namespace {

// torchvision's ImageNet statistics, as float32 like Normalize's tensors.
const std::vector<float> kPixelMean = {0.485f, 0.456f, 0.406f};
const std::vector<float> kPixelStd = {0.229f, 0.224f, 0.225f};

void check_coordinate_dtype(const Tensor& tensor, const char* what) {
  QATD_CHECK(tensor.defined(), "SAM2Transforms.{}: undefined tensor", what);
  QATD_CHECK(tensor.dtype() == DType::f32 || tensor.dtype() == DType::f64,
             "SAM2Transforms.{}: expected float32 or float64, got {}", what, tensor.dtype());
}

// Throws unless every (x, y) pair of `values` (groups of `group` numbers, each group a point or a box)
// lies in [0, W] x [0, H] (normalize) or [0, 1]^2.
void check_inside(const Tensor& values, int64_t group, const char* kind, bool normalize,
                  const std::optional<ImageHW>& orig_hw) {
  std::vector<double> numbers = values.to(DType::f64).to_vector<double>();
  double width = normalize ? static_cast<double>((*orig_hw)[1]) : 1.0;
  double height = normalize ? static_cast<double>((*orig_hw)[0]) : 1.0;
  for (size_t start = 0; start < numbers.size(); start += group) {
    bool inside = true;
    for (int64_t i = 0; i < group; i += 2) {
      double x = numbers[start + i], y = numbers[start + i + 1];
      inside = inside && x >= 0.0 && x <= width && y >= 0.0 && y <= height;  // false for NaN too
    }
    if (inside) continue;
    std::vector<double> prompt(numbers.begin() + start, numbers.begin() + start + group);
    if (normalize) {
      fail("SAM2 prompt: {} {} ({}) lies outside the {}x{} (W x H) image: coordinates must be in [0, {}] x [0, {}]",
           kind, start / group, fmt::join(prompt, ", "), (*orig_hw)[1], (*orig_hw)[0], (*orig_hw)[1], (*orig_hw)[0]);
    }
    fail("SAM2 prompt: {} {} ({}) lies outside the image: normalized coordinates must be in [0, 1] x [0, 1]", kind,
         start / group, fmt::join(prompt, ", "));
  }
}

void check_orig_hw(bool normalize, const std::optional<ImageHW>& orig_hw, const char* what) {
  if (!normalize) return;
  QATD_CHECK(orig_hw.has_value(), "SAM2Transforms.{}: normalize needs the original image size orig_hw", what);
  QATD_CHECK((*orig_hw)[0] > 0 && (*orig_hw)[1] > 0, "SAM2Transforms.{}: orig_hw must be positive, got ({}, {})",
             what, (*orig_hw)[0], (*orig_hw)[1]);
}

}  // namespace

SAM2Transforms::SAM2Transforms(const SAM2TransformsOptions& options) : options_(options) {
  QATD_CHECK(options.resolution > 0, "SAM2Transforms: resolution must be positive, got {}", options.resolution);
}

Tensor SAM2Transforms::transform_image(const Tensor& image) const {
  QATD_CHECK(image.defined(), "SAM2Transforms.transform_image: undefined image");
  QATD_CHECK(image.dim() == 3 && image.size(2) == 3 && image.dtype() == DType::u8,
             "SAM2Transforms.transform_image: expected an (H, W, 3) uint8 RGB image, got {} {}",
             shape_str(image.shape()), image.dtype());
  QATD_CHECK(image.size(0) > 0 && image.size(1) > 0, "SAM2Transforms.transform_image: empty image {}",
             shape_str(image.shape()));
  int64_t size = options_.resolution;
  Tensor x = div(image.permute({2, 0, 1}).unsqueeze(0).to(DType::f32), 255.0);
  if (image.size(0) != size || image.size(1) != size) {
    InterpolateOptions resize;
    resize.mode = InterpolateMode::bilinear;
    resize.size = std::array<int64_t, 2>{size, size};
    resize.align_corners = false;
    resize.antialias = true;
    x = interpolate(x, resize);
  }
  Tensor mean = from_vector(kPixelMean, {1, 3, 1, 1});
  Tensor std = from_vector(kPixelStd, {1, 3, 1, 1});
  return div(sub(x, mean), std);
}

Tensor SAM2Transforms::forward_batch(const std::vector<Tensor>& images) const {
  QATD_CHECK(!images.empty(), "SAM2Transforms.forward_batch: no images");
  std::vector<Tensor> inputs;
  inputs.reserve(images.size());
  for (const Tensor& image : images) inputs.push_back(transform_image(image));
  return cat(inputs, 0);
}

Tensor SAM2Transforms::transform_coords(const Tensor& coords, bool normalize,
                                        const std::optional<ImageHW>& orig_hw) const {
  check_coordinate_dtype(coords, "transform_coords");
  QATD_CHECK(coords.dim() >= 1 && coords.size(-1) == 2,
             "SAM2Transforms.transform_coords: expected points (..., 2), got {}", shape_str(coords.shape()));
  check_orig_hw(normalize, orig_hw, "transform_coords");
  check_inside(coords, 2, "point", normalize, orig_hw);
  Tensor out = coords;
  if (normalize) {
    std::vector<double> width_height = {static_cast<double>((*orig_hw)[1]), static_cast<double>((*orig_hw)[0])};
    out = div(coords, from_vector(width_height).to(coords.dtype()));
  }
  return mul(out, static_cast<double>(options_.resolution));
}

Tensor SAM2Transforms::transform_boxes(const Tensor& boxes, bool normalize,
                                       const std::optional<ImageHW>& orig_hw) const {
  check_coordinate_dtype(boxes, "transform_boxes");
  QATD_CHECK(boxes.dim() >= 1 && boxes.size(-1) == 4,
             "SAM2Transforms.transform_boxes: expected boxes (..., 4) as x0, y0, x1, y1, got {}",
             shape_str(boxes.shape()));
  check_orig_hw(normalize, orig_hw, "transform_boxes");
  check_inside(boxes, 4, "box", normalize, orig_hw);
  return transform_coords(boxes.reshape({-1, 2, 2}), normalize, orig_hw);
}

Tensor SAM2Transforms::postprocess_masks(const Tensor& masks, const ImageHW& orig_hw) const {
  QATD_CHECK(masks.defined(), "SAM2Transforms.postprocess_masks: undefined masks");
  QATD_CHECK(masks.dim() == 4, "SAM2Transforms.postprocess_masks: expected masks (B, C, h, w), got {}",
             shape_str(masks.shape()));
  QATD_CHECK(orig_hw[0] > 0 && orig_hw[1] > 0,
             "SAM2Transforms.postprocess_masks: orig_hw must be positive, got ({}, {})", orig_hw[0], orig_hw[1]);
  Tensor scores = masks.to(DType::f32);
  // Both cleanups look at the components of the masks as given (each (b, c) one image), so a filled hole
  // never counts as foreground for the sprinkle removal.
  Tensor images = scores.flatten(0, 1).unsqueeze(1);
  const double threshold = options_.mask_threshold;
  if (options_.max_hole_area > 0.0) {
    ConnectedComponents background = get_connected_components(le(images, threshold));
    Tensor is_hole = logical_and(gt(background.labels, 0.0), le(background.counts, options_.max_hole_area));
    scores = where(logical_not(is_hole.reshape(scores.shape())), scores, threshold + 10.0);
  }
  if (options_.max_sprinkle_area > 0.0) {
    ConnectedComponents foreground = get_connected_components(gt(images, threshold));
    Tensor is_sprinkle = logical_and(gt(foreground.labels, 0.0), le(foreground.counts, options_.max_sprinkle_area));
    scores = where(logical_not(is_sprinkle.reshape(scores.shape())), scores, threshold - 10.0);
  }
  InterpolateOptions resize;
  resize.mode = InterpolateMode::bilinear;
  resize.size = orig_hw;
  resize.align_corners = false;
  return interpolate(scores, resize);
}

PreparedPrompts prepare_prompts(const SAM2Transforms& transforms, const Tensor& point_coords,
                                const Tensor& point_labels, const Tensor& box, const ImageHW& orig_hw,
                                bool normalize_coords) {
  QATD_CHECK(point_coords.defined() || box.defined(), "SAM2 prompt: neither points nor a box were given");
  Tensor coords;
  Tensor labels;
  if (point_coords.defined()) {
    QATD_CHECK(point_labels.defined(), "SAM2 prompt: point labels must be supplied with the points");
    QATD_CHECK(point_coords.dim() == 2 || point_coords.dim() == 3,
               "SAM2 prompt: points must be (N, 2) or (B, N, 2), got {}", shape_str(point_coords.shape()));
    Shape expected(point_coords.shape().begin(), point_coords.shape().end() - 1);
    QATD_CHECK(point_labels.shape() == expected, "SAM2 prompt: labels {} do not match points {} (expected {})",
               shape_str(point_labels.shape()), shape_str(point_coords.shape()), shape_str(expected));
    coords = transforms.transform_coords(point_coords.to(DType::f32), normalize_coords, orig_hw);
    labels = point_labels.to(DType::i32);
    if (coords.dim() == 2) {
      coords = coords.unsqueeze(0);
      labels = labels.unsqueeze(0);
    }
  }
  if (!box.defined()) return {coords, labels};
  Tensor box_coords = transforms.transform_boxes(box.to(DType::f32), normalize_coords, orig_hw);
  int64_t boxes = box_coords.size(0);
  Tensor box_labels = from_vector(std::vector<int32_t>{2, 3}, {1, 2}).expand({boxes, 2}).contiguous();
  if (!coords.defined()) return {box_coords, box_labels};
  QATD_CHECK(coords.size(0) == boxes, "SAM2 prompt: {} boxes for {} sets of points (the counts must match)", boxes,
             coords.size(0));
  return {cat({box_coords, coords}, 1), cat({box_labels, labels}, 1)};
}

}  // namespace qatd::sam2
