// The exact squared Euclidean distance transform: the vertical distance to the background by two
// scans, then along every row the lower envelope of parabolas (Felzenszwalb and Huttenlocher 2012).
#include "train/data/distance_transform.h"

#include <algorithm>

#include "engine/error.h"

namespace qatd::train::data {

namespace {

// Scratch space of one 1-D pass, allocated once per transform.
struct Envelope {
  std::vector<int64_t> sites;    // positions of the parabolas in the lower envelope
  std::vector<int64_t> heights;  // their values at their own position
  std::vector<double> starts;    // where each parabola starts to be the lowest
  explicit Envelope(int64_t length) : sites(length + 2), heights(length + 2), starts(length + 3) {}
};

// output[p] = min over sites q of (p - q)^2 + values[q], where entries equal to kNoBackground are no
// site; with `border_sites`, positions -1 and length are sites of value 0.
void transform_line(const int64_t* values, int64_t length, bool border_sites, Envelope& envelope, int64_t* output) {
  int64_t count = 0;
  auto add_site = [&](int64_t position, int64_t value) {
    const double lifted = static_cast<double>(value) + static_cast<double>(position) * static_cast<double>(position);
    double start = 0.0;
    while (count > 0) {
      const int64_t last = envelope.sites[count - 1];
      const double last_lifted =
          static_cast<double>(envelope.heights[count - 1]) + static_cast<double>(last) * static_cast<double>(last);
      start = (lifted - last_lifted) / (2.0 * static_cast<double>(position - last));
      if (count > 1 && start <= envelope.starts[count - 1]) {
        --count;
        continue;
      }
      break;
    }
    envelope.sites[count] = position;
    envelope.heights[count] = value;
    envelope.starts[count] = count == 0 ? -std::numeric_limits<double>::infinity() : start;
    ++count;
  };
  if (border_sites) add_site(-1, 0);
  for (int64_t position = 0; position < length; ++position) {
    if (values[position] != kNoBackground) add_site(position, values[position]);
  }
  if (border_sites) add_site(length, 0);
  if (count == 0) {
    std::fill(output, output + length, kNoBackground);
    return;
  }
  envelope.starts[count] = std::numeric_limits<double>::infinity();
  int64_t current = 0;
  for (int64_t position = 0; position < length; ++position) {
    while (envelope.starts[current + 1] < static_cast<double>(position)) ++current;
    const int64_t offset = position - envelope.sites[current];
    output[position] = offset * offset + envelope.heights[current];
  }
}

}  // namespace

std::vector<int64_t> squared_distance_to_background(const uint8_t* inside, int64_t height, int64_t width,
                                                    bool border_is_background) {
  QATD_CHECK(height >= 1 && width >= 1, "distance transform: the grid must not be empty, got {} x {}", height, width);
  // Down the columns the nearest background is found by a scan down and a scan up, whole rows at a
  // time (Meijster et al.'s first phase); `far` stands for none, beyond any real distance.
  const int64_t far = height + 2;
  std::vector<int64_t> distances(static_cast<size_t>(height * width));
  for (int64_t row = 0; row < height; ++row) {
    const uint8_t* pixels = inside + row * width;
    int64_t* current = distances.data() + row * width;
    const int64_t* above = row > 0 ? current - width : nullptr;
    const int64_t edge = border_is_background ? 1 : far;
    for (int64_t column = 0; column < width; ++column) {
      current[column] = pixels[column] ? std::min(far, (above ? above[column] : edge - 1) + 1) : 0;
    }
  }
  for (int64_t row = height - 1; row >= 0; --row) {
    int64_t* current = distances.data() + row * width;
    const int64_t* below = row + 1 < height ? current + width : nullptr;
    const int64_t edge = border_is_background ? 1 : far;
    for (int64_t column = 0; column < width; ++column) {
      current[column] = std::min(current[column], (below ? below[column] : edge - 1) + 1);
    }
  }
  // Along the rows, the lower envelope of the parabolas (x - column)^2 + vertical distance^2.
  Envelope envelope(width);
  std::vector<int64_t> line(width);
  for (int64_t row = 0; row < height; ++row) {
    int64_t* values = distances.data() + row * width;
    for (int64_t column = 0; column < width; ++column) {
      line[column] = values[column] >= far ? kNoBackground : values[column] * values[column];
    }
    transform_line(line.data(), width, border_is_background, envelope, values);
  }
  return distances;
}

}  // namespace qatd::train::data
