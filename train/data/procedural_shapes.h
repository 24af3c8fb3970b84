#pragma once
// Procedurally drawn images with exact instance masks: the data source that needs no files, for
// tests, smoke runs and a first distillation that a small model can learn from box and point
// prompts. Each image is a textured background (a gradient, stripes, a checkerboard or blotchy
// noise, plus fine pixel noise) under a few overlapping shapes drawn in z-order: ellipses, convex and
// concave polygons, stars, rings, polygons with an elliptical hole, and at most one thin structure (a
// line segment or an arc). Every shape has its own colour and texture (solid, stripes or noise).
//
// Masks are exact: a pixel belongs to a shape iff its centre is inside the shape's outline, and an
// instance's mask is its visible part (a shape above takes the pixels it covers; a hole shows what is
// under it). Instances with less visible area than the minimum are dropped; an image always keeps at
// least one.
//
// Item i is drawn only from Generator(mix(seed, i)), so it is the same whichever thread or epoch
// loads it. Sizes are relative to the image: a 1024 x 1024 item looks like a 256 x 256 one at four
// times the resolution (thin structures are 2 to 5 pixels wide at 256, 8 to 20 at 1024).
#include <cstdint>
#include <string>

#include "train/data/image_source.h"

namespace qatd::train::data {

struct ProceduralShapesOptions {
  int64_t min_objects = 3;  // shapes drawn per image, before dropping hidden ones
  int64_t max_objects = 6;
  double min_visible_fraction = 0.01;  // of the image's area; instances with less visible area are dropped
};

class ProceduralShapes : public ImageSource {
 public:
  // `count` items of image_size x image_size pixels. Throws for a count below 1, an image size outside
  // [16, 16384], object counts outside 1 <= min <= max <= 16, or a minimum visible fraction outside
  // [0, 0.1].
  ProceduralShapes(int64_t count, int64_t image_size, uint64_t seed, ProceduralShapesOptions options = {});

  int64_t size() const override { return count_; }
  std::string name(int64_t index) const override;  // "procedural #i"
  AnnotatedImage load(int64_t index) const override;

 private:
  int64_t count_;
  int64_t image_size_;
  uint64_t seed_;
  ProceduralShapesOptions options_;
};

}  // namespace qatd::train::data
