// Procedural shapes: a random layout (background paint, shape outlines as polygons, shape paints),
// filled exactly with the even-odd scanline rasterizer into a label map of the topmost shape per
// pixel; the visible instance masks are run-length encoded straight from that map.
#include "train/data/procedural_shapes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "engine/error.h"
#include "engine/random.h"
#include "train/data/polygon_raster.h"
#include "train/data/seed_mix.h"

namespace qatd::train::data {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr uint8_t kNoShape = 255;  // label of background pixels
// Layouts drawn before falling back to one large centred ellipse (in practice the first one almost
// always keeps an instance).
constexpr int64_t kLayoutAttempts = 16;

using Colour = std::array<double, 3>;  // RGB in [0, 255]

double uniform(Generator& generator, double low, double high) { return low + (high - low) * generator.uniform(); }

// An integer in [low, high].
int64_t uniform_integer(Generator& generator, int64_t low, int64_t high) {
  return std::min(high, low + static_cast<int64_t>(generator.uniform() * static_cast<double>(high - low + 1)));
}

double colour_distance(const Colour& a, const Colour& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

Colour random_colour(Generator& generator) {
  return {uniform(generator, 20, 235), uniform(generator, 20, 235), uniform(generator, 20, 235)};
}

// A second colour for a texture: brighter or darker by `low` to `high` levels, with a little hue drift.
Colour shifted_colour(const Colour& colour, Generator& generator, double low, double high) {
  const double brightness = uniform(generator, low, high);
  const double direction = (colour[0] + colour[1] + colour[2]) / 3.0 > 128.0 ? -1.0 : 1.0;
  Colour shifted{};
  for (size_t c = 0; c < 3; ++c) {
    shifted[c] = std::clamp(colour[c] + direction * brightness + uniform(generator, -12, 12), 0.0, 255.0);
  }
  return shifted;
}

// Random values on a coarse grid over the image, interpolated bilinearly with a smoothstep: smooth
// blotches whose size is the grid's cell.
class ValueNoise {
 public:
  ValueNoise() = default;
  ValueNoise(Generator& generator, int64_t cells, double extent)
      : cells_(cells), scale_(static_cast<double>(cells) / extent), values_((cells + 1) * (cells + 1)) {
    for (double& value : values_) value = generator.uniform();
  }

  // In [0, 1].
  double at(double x, double y) const {
    auto locate = [&](double coordinate, int64_t& cell, double& weight) {
      const double grid = std::clamp(coordinate * scale_, 0.0, static_cast<double>(cells_));
      cell = std::min(static_cast<int64_t>(grid), cells_ - 1);
      const double fraction = grid - static_cast<double>(cell);
      weight = fraction * fraction * (3.0 - 2.0 * fraction);
    };
    int64_t column = 0, row = 0;
    double wx = 0.0, wy = 0.0;
    locate(x, column, wx);
    locate(y, row, wy);
    const double* top = values_.data() + row * (cells_ + 1) + column;
    const double* bottom = top + (cells_ + 1);
    const double upper = top[0] + wx * (top[1] - top[0]);
    const double lower = bottom[0] + wx * (bottom[1] - bottom[0]);
    return upper + wy * (lower - upper);
  }

 private:
  int64_t cells_ = 1;
  double scale_ = 1.0;
  std::vector<double> values_;
};

enum class Pattern { solid, gradient, stripes, checkerboard, noise };

// How a region is coloured: `first` and `second` mixed by a pattern over image coordinates.
struct Paint {
  Pattern pattern = Pattern::solid;
  Colour first{};
  Colour second{};
  double direction_x = 1.0, direction_y = 0.0;  // unit vector across gradients and stripes
  double period = 1.0;                          // stripe and square width; the gradient's length
  double phase = 0.0;
  ValueNoise noise;

  Colour at(double x, double y) const {
    double t = 0.0;
    const double along = (x * direction_x + y * direction_y) / period + phase;
    switch (pattern) {
      case Pattern::solid: return first;
      case Pattern::gradient: t = std::clamp(along, 0.0, 1.0); break;
      case Pattern::stripes: t = static_cast<double>(static_cast<int64_t>(std::floor(along)) & 1); break;
      case Pattern::checkerboard: {
        const double across = (-x * direction_y + y * direction_x) / period;
        t = static_cast<double>((static_cast<int64_t>(std::floor(along)) + static_cast<int64_t>(std::floor(across))) &
                                1);
        break;
      }
      case Pattern::noise: t = noise.at(x, y); break;
    }
    return {first[0] + t * (second[0] - first[0]), first[1] + t * (second[1] - first[1]),
            first[2] + t * (second[2] - first[2])};
  }

  Colour mean() const {
    return {(first[0] + second[0]) / 2.0, (first[1] + second[1]) / 2.0, (first[2] + second[2]) / 2.0};
  }
};

void set_direction(Paint& paint, double angle) {
  paint.direction_x = std::cos(angle);
  paint.direction_y = std::sin(angle);
}

struct Shape {
  std::vector<Polygon> outline;  // filled with the even-odd rule
  Paint paint;
};

struct Layout {
  Paint background;
  double pixel_noise = 0.0;   // amplitude of the fine noise, in levels
  std::vector<Shape> shapes;  // bottom to top
};

// Geometry. `unit` is the image size over 256: the scale of everything measured in pixels.

Point place(double cx, double cy, double angle, double u, double v) {
  const double c = std::cos(angle), s = std::sin(angle);
  return {cx + c * u - s * v, cy + s * u + c * v};
}

Polygon ellipse_polygon(double cx, double cy, double rx, double ry, double angle, double sweep_start = 0.0,
                        double sweep = 2.0 * kPi) {
  // Edges about 3 pixels long: fine enough to look round; the mask is exactly this polygon anyway.
  const int64_t vertices = std::clamp<int64_t>(static_cast<int64_t>(std::max(rx, ry) * sweep / 3.0), 24, 256);
  Polygon polygon;
  polygon.reserve(vertices);
  for (int64_t i = 0; i < vertices; ++i) {
    const double t = sweep_start + sweep * static_cast<double>(i) / static_cast<double>(vertices);
    polygon.push_back(place(cx, cy, angle, rx * std::cos(t), ry * std::sin(t)));
  }
  return polygon;
}

// Angles of n vertices around a centre, each within `jitter` steps of a regular polygon's.
std::vector<double> jittered_angles(Generator& generator, int64_t n, double jitter) {
  const double start = uniform(generator, 0.0, 2.0 * kPi), step = 2.0 * kPi / static_cast<double>(n);
  std::vector<double> angles(n);
  for (int64_t i = 0; i < n; ++i)
    angles[i] = start + step * (static_cast<double>(i) + uniform(generator, -jitter, jitter));
  return angles;
}

enum class CompactKind { ellipse, convex, concave, star, ring, holed_polygon };

// A compact shape of about `area` pixels (before clipping and occlusion) centred at (cx, cy).
std::vector<Polygon> compact_outline(Generator& generator, CompactKind kind, double cx, double cy, double area) {
  const double radius = std::sqrt(area / kPi);  // of the disk with that area
  const double angle = uniform(generator, 0.0, 2.0 * kPi);
  switch (kind) {
    case CompactKind::ellipse: {
      const double aspect = std::sqrt(uniform(generator, 1.0, 2.2));
      return {ellipse_polygon(cx, cy, radius * aspect, radius / aspect, angle)};
    }
    case CompactKind::convex: {
      // Vertices on an ellipse, in angular order: always convex.
      const int64_t n = uniform_integer(generator, 3, 8);
      const double aspect = std::sqrt(uniform(generator, 1.0, 1.8));
      const double scale =
          std::sqrt(kPi / (0.5 * static_cast<double>(n) * std::sin(2.0 * kPi / static_cast<double>(n))));
      Polygon polygon;
      for (double t : jittered_angles(generator, n, 0.3)) {
        polygon.push_back(
            place(cx, cy, angle, scale * radius * aspect * std::cos(t), scale * radius / aspect * std::sin(t)));
      }
      return {polygon};
    }
    case CompactKind::concave: {
      const int64_t n = uniform_integer(generator, 7, 12);
      Polygon polygon;
      for (double t : jittered_angles(generator, n, 0.35)) {
        const double r = 1.4 * radius * uniform(generator, 0.4, 1.0);
        polygon.push_back({cx + r * std::cos(t), cy + r * std::sin(t)});
      }
      return {polygon};
    }
    case CompactKind::star: {
      const int64_t points = uniform_integer(generator, 5, 8);
      const double inner = uniform(generator, 0.38, 0.6);
      const double step = kPi / static_cast<double>(points);
      const double outer = radius * std::sqrt(kPi / (static_cast<double>(points) * inner * std::sin(step)));
      Polygon polygon;
      for (int64_t i = 0; i < 2 * points; ++i) {
        const double r = i % 2 == 0 ? outer : outer * inner;
        polygon.push_back({cx + r * std::cos(angle + step * i), cy + r * std::sin(angle + step * i)});
      }
      return {polygon};
    }
    case CompactKind::ring: {
      const double aspect = std::sqrt(uniform(generator, 1.0, 1.5));
      const double ratio = uniform(generator, 0.4, 0.65);
      const double outer = radius / std::sqrt(1.0 - ratio * ratio);
      // The hole may sit off-centre by up to a third of the thinnest wall.
      const double slack = (outer / aspect) * (1.0 - ratio) / 3.0;
      const double hole_x = cx + uniform(generator, -slack, slack), hole_y = cy + uniform(generator, -slack, slack);
      return {ellipse_polygon(cx, cy, outer * aspect, outer / aspect, angle),
              ellipse_polygon(hole_x, hole_y, outer * ratio * aspect, outer * ratio / aspect, angle)};
    }
    case CompactKind::holed_polygon: {
      // Vertices on a circle with gaps of at most 1.6 regular steps, so the polygon holds the disk of
      // radius outer * cos(0.8 step), and the hole, half that at most, stays inside.
      const int64_t n = uniform_integer(generator, 5, 8);
      const double outer = 1.2 * radius;
      Polygon polygon;
      for (double t : jittered_angles(generator, n, 0.3))
        polygon.push_back({cx + outer * std::cos(t), cy + outer * std::sin(t)});
      const double inradius = outer * std::cos(0.8 * kPi / static_cast<double>(n));
      const double hole_x = inradius * uniform(generator, 0.35, 0.5);
      const double hole_y = hole_x * uniform(generator, 0.6, 1.0);
      return {polygon, ellipse_polygon(cx, cy, hole_x, hole_y, angle)};
    }
  }
  fail("procedural shapes: unknown shape kind");
}

// A line segment or an arc, its width (2 to 5 units) chosen to cover about `area` pixels.
std::vector<Polygon> thin_outline(Generator& generator, double size, double unit, double area) {
  const double margin = 0.04 * size;
  const double angle = uniform(generator, 0.0, 2.0 * kPi);
  auto width_for = [&](double length) { return std::clamp(area / length, 2.0 * unit, 5.0 * unit); };
  if (generator.uniform() < 0.5) {
    // Nearly as long as the image allows in its direction.
    const double c = std::abs(std::cos(angle)), s = std::abs(std::sin(angle));
    const double length = (size - 2.0 * margin) / std::max(c, s) * uniform(generator, 0.75, 1.0);
    const double cx = uniform(generator, margin + 0.5 * length * c, size - margin - 0.5 * length * c);
    const double cy = uniform(generator, margin + 0.5 * length * s, size - margin - 0.5 * length * s);
    const double u = 0.5 * length, v = 0.5 * width_for(length);
    return {{place(cx, cy, angle, -u, -v), place(cx, cy, angle, u, -v), place(cx, cy, angle, u, v),
             place(cx, cy, angle, -u, v)}};
  }
  const double sweep = uniform(generator, 1.0, 1.75) * kPi;
  const double radius = uniform(generator, 0.18, 0.32) * size;
  const double half_width = 0.5 * width_for(radius * sweep);
  const double low = radius + half_width + margin, high = size - low;
  const double cx = uniform(generator, low, high), cy = uniform(generator, low, high);
  Polygon band = ellipse_polygon(cx, cy, radius + half_width, radius + half_width, angle, 0.0, sweep);
  Polygon inner = ellipse_polygon(cx, cy, radius - half_width, radius - half_width, angle, 0.0, sweep);
  // The last vertex of each arc closes the sweep exactly.
  band.push_back(
      place(cx, cy, angle, (radius + half_width) * std::cos(sweep), (radius + half_width) * std::sin(sweep)));
  inner.push_back(
      place(cx, cy, angle, (radius - half_width) * std::cos(sweep), (radius - half_width) * std::sin(sweep)));
  band.insert(band.end(), inner.rbegin(), inner.rend());
  return {band};
}

Paint background_paint(Generator& generator, double size, double unit) {
  Paint paint;
  paint.first = random_colour(generator);
  const int64_t kind = uniform_integer(generator, 0, 3);
  paint.second = shifted_colour(paint.first, generator, kind == 0 ? 40.0 : 25.0, kind == 0 ? 80.0 : 55.0);
  set_direction(paint, uniform(generator, 0.0, 2.0 * kPi));
  switch (kind) {
    case 0:
      // The gradient runs across the image whatever its direction.
      paint.pattern = Pattern::gradient;
      paint.period = size * (std::abs(paint.direction_x) + std::abs(paint.direction_y));
      paint.phase = -std::min(0.0, paint.direction_x) * size / paint.period -
                    std::min(0.0, paint.direction_y) * size / paint.period;
      break;
    case 1:
      paint.pattern = Pattern::stripes;
      paint.period = uniform(generator, 6.0, 24.0) * unit;
      paint.phase = generator.uniform();
      break;
    case 2:
      paint.pattern = Pattern::checkerboard;
      paint.period = uniform(generator, 12.0, 40.0) * unit;
      paint.phase = generator.uniform();
      break;
    default:
      paint.pattern = Pattern::noise;
      paint.noise = ValueNoise(generator, uniform_integer(generator, 2, 6), size);
      break;
  }
  return paint;
}

// A colour far from the background's two colours and from the shapes already chosen: the best of a
// few draws, taking the first one that is far enough.
Colour distinct_colour(Generator& generator, const Paint& background, const std::vector<Shape>& shapes) {
  Colour best{};
  double best_score = -1.0;
  for (int64_t attempt = 0; attempt < 24; ++attempt) {
    const Colour candidate = random_colour(generator);
    double score =
        std::min(colour_distance(candidate, background.first), colour_distance(candidate, background.second));
    for (const Shape& shape : shapes) score = std::min(score, 1.4 * colour_distance(candidate, shape.paint.mean()));
    if (score > best_score) {
      best = candidate;
      best_score = score;
    }
    if (best_score >= 100.0) break;
  }
  return best;
}

Paint shape_paint(Generator& generator, const Colour& colour, double size, double unit, bool thin) {
  Paint paint;
  paint.first = colour;
  const double pick = generator.uniform();
  if (thin || pick < 0.4) return paint;
  paint.second = shifted_colour(colour, generator, 30.0, 55.0);
  set_direction(paint, uniform(generator, 0.0, 2.0 * kPi));
  if (pick < 0.7) {
    paint.pattern = Pattern::stripes;
    paint.period = uniform(generator, 3.0, 10.0) * unit;
    paint.phase = generator.uniform();
  } else {
    paint.pattern = Pattern::noise;
    paint.noise = ValueNoise(generator, static_cast<int64_t>(size / (uniform(generator, 8.0, 20.0) * unit)) + 1, size);
  }
  return paint;
}

Layout random_layout(Generator& generator, int64_t image_size, const ProceduralShapesOptions& options) {
  const double size = static_cast<double>(image_size), unit = size / 256.0;
  Layout layout;
  layout.background = background_paint(generator, size, unit);
  layout.pixel_noise = uniform(generator, 3.0, 10.0);
  const int64_t count = uniform_integer(generator, options.min_objects, options.max_objects);
  // At most one thin structure and never alone, usually on top so that it stays visible.
  int64_t thin_index = -1;
  if (generator.uniform() < 0.85 && count >= 2) {
    thin_index = generator.uniform() < 0.5 ? count - 1 : uniform_integer(generator, 0, count - 1);
  }
  for (int64_t k = 0; k < count; ++k) {
    Shape shape;
    if (k == thin_index) {
      shape.outline = thin_outline(generator, size, unit, uniform(generator, 0.016, 0.03) * size * size);
    } else {
      const auto kind = static_cast<CompactKind>(uniform_integer(generator, 0, 5));
      const double area = std::exp(uniform(generator, std::log(0.03), std::log(0.16))) * size * size;
      const double cx = uniform(generator, 0.15, 0.85) * size, cy = uniform(generator, 0.15, 0.85) * size;
      shape.outline = compact_outline(generator, kind, cx, cy, area);
    }
    shape.paint = shape_paint(generator, distinct_colour(generator, layout.background, layout.shapes), size, unit,
                              k == thin_index);
    layout.shapes.push_back(std::move(shape));
  }
  return layout;
}

// One large ellipse in the middle: the layout of last resort, visible whatever the minimum area.
Layout fallback_layout(Generator& generator, int64_t image_size) {
  const double size = static_cast<double>(image_size), unit = size / 256.0;
  Layout layout;
  layout.background = background_paint(generator, size, unit);
  layout.pixel_noise = uniform(generator, 3.0, 10.0);
  Shape shape;
  shape.outline = {ellipse_polygon(0.5 * size, 0.5 * size, 0.35 * size, 0.3 * size, uniform(generator, 0.0, kPi))};
  shape.paint = shape_paint(generator, distinct_colour(generator, layout.background, {}), size, unit, false);
  layout.shapes.push_back(std::move(shape));
  return layout;
}

// Rounded half up and clamped (std::lround is a library call, and this runs three times per pixel).
uint8_t to_level(double value) { return static_cast<uint8_t>(std::clamp(value, 0.0, 255.0) + 0.5); }

// COCO run-length encodings of every instance straight from the label map, in one column-major pass:
// a change of label ends a run of the instance left and a run of the instance entered.
std::vector<Rle> encode_instances(const std::vector<uint8_t>& labels, int64_t size,
                                  const std::array<int64_t, 256>& instance_of_label, int64_t instances) {
  std::vector<Rle> masks(instances, Rle{size, size, {}});
  std::vector<int64_t> run_start(instances, 0);
  int64_t previous = -1;
  for (int64_t column = 0; column < size; ++column) {
    for (int64_t row = 0; row < size; ++row) {
      const int64_t current = instance_of_label[labels[row * size + column]];
      if (current == previous) continue;
      const int64_t position = column * size + row;
      for (int64_t instance : {previous, current}) {
        if (instance < 0) continue;
        masks[instance].counts.push_back(static_cast<uint32_t>(position - run_start[instance]));
        run_start[instance] = position;
      }
      previous = current;
    }
  }
  for (int64_t instance = 0; instance < instances; ++instance) {
    masks[instance].counts.push_back(static_cast<uint32_t>(size * size - run_start[instance]));
  }
  return masks;
}

}  // namespace

ProceduralShapes::ProceduralShapes(int64_t count, int64_t image_size, uint64_t seed, ProceduralShapesOptions options)
    : count_(count), image_size_(image_size), seed_(seed), options_(options) {
  QATD_CHECK(count >= 1, "procedural shapes: the item count must be at least 1, got {}", count);
  QATD_CHECK(image_size >= 16 && image_size <= 16384,
             "procedural shapes: the image size must be in [16, 16384], got {}", image_size);
  QATD_CHECK(options.min_objects >= 1 && options.min_objects <= options.max_objects && options.max_objects <= 16,
             "procedural shapes: the object counts must satisfy 1 <= min_objects <= max_objects <= 16, got min {} and "
             "max {}",
             options.min_objects, options.max_objects);
  QATD_CHECK(options.min_visible_fraction >= 0.0 && options.min_visible_fraction <= 0.1,
             "procedural shapes: min_visible_fraction must be in [0, 0.1], got {}", options.min_visible_fraction);
}

std::string ProceduralShapes::name(int64_t index) const { return "procedural #" + std::to_string(index); }

AnnotatedImage ProceduralShapes::load(int64_t index) const {
  QATD_CHECK(index >= 0 && index < count_, "procedural shapes: item {} does not exist ({} items)", index, count_);
  Generator generator(mix(seed_, static_cast<uint64_t>(index)));
  const int64_t size = image_size_, pixels = size * size;
  const int64_t min_area = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(options_.min_visible_fraction * static_cast<double>(pixels) - 1e-9)));

  // Outlines first, into the label map of the topmost shape per pixel; a layout where every shape is
  // too hidden or clipped is drawn again.
  Layout layout;
  std::vector<std::vector<Span>> spans;
  std::vector<uint8_t> labels(static_cast<size_t>(pixels));
  std::array<int64_t, 256> instance_of_label{};
  int64_t instances = 0;
  for (int64_t attempt = 0; instances == 0; ++attempt) {
    layout = attempt < kLayoutAttempts ? random_layout(generator, size, options_) : fallback_layout(generator, size);
    std::fill(labels.begin(), labels.end(), kNoShape);
    spans.clear();
    for (size_t k = 0; k < layout.shapes.size(); ++k) {
      spans.push_back(rasterize_even_odd(layout.shapes[k].outline, size, size));
      for (const Span& span : spans.back()) {
        std::fill(labels.begin() + span.row * size + span.begin, labels.begin() + span.row * size + span.end,
                  static_cast<uint8_t>(k));
      }
    }
    std::array<int64_t, 256> area{};
    for (uint8_t label : labels) ++area[label];
    instance_of_label.fill(-1);
    for (size_t k = 0; k < layout.shapes.size(); ++k) {
      if (area[k] >= min_area) instance_of_label[k] = instances++;
    }
  }

  // Colours: the background, each shape's paint over its visible pixels, then the fine noise.
  Tensor image = empty({size, size, 3}, DType::u8);
  uint8_t* rgb = image.data<uint8_t>();
  for (int64_t row = 0; row < size; ++row) {
    for (int64_t column = 0; column < size; ++column) {
      const Colour colour = layout.background.at(static_cast<double>(column) + 0.5, static_cast<double>(row) + 0.5);
      uint8_t* pixel = rgb + 3 * (row * size + column);
      for (size_t c = 0; c < 3; ++c) pixel[c] = to_level(colour[c]);
    }
  }
  for (size_t k = 0; k < layout.shapes.size(); ++k) {
    const Paint& paint = layout.shapes[k].paint;
    for (const Span& span : spans[k]) {
      for (int64_t column = span.begin; column < span.end; ++column) {
        if (labels[span.row * size + column] != k) continue;
        const Colour colour = paint.at(static_cast<double>(column) + 0.5, static_cast<double>(span.row) + 0.5);
        uint8_t* pixel = rgb + 3 * (span.row * size + column);
        for (size_t c = 0; c < 3; ++c) pixel[c] = to_level(colour[c]);
      }
    }
  }
  // One draw per pixel: 16 bits of noise per channel.
  const double noise_scale = 2.0 * layout.pixel_noise / 65535.0;
  for (int64_t pixel = 0; pixel < pixels; ++pixel) {
    uint64_t bits = generator.next_u64();
    for (int64_t c = 0; c < 3; ++c, bits >>= 16) {
      const double noise = static_cast<double>(bits & 0xFFFF) * noise_scale - layout.pixel_noise;
      rgb[3 * pixel + c] = to_level(static_cast<double>(rgb[3 * pixel + c]) + noise);
    }
  }

  AnnotatedImage item;
  item.image = image;
  item.masks = encode_instances(labels, size, instance_of_label, instances);
  item.name = name(index);
  return item;
}

}  // namespace qatd::train::data
