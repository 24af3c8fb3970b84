#include "train/data/coco_rle.h"

#include <limits>
#include <numeric>

#include "engine/error.h"

namespace qatd::train::data {

namespace {

// Reads mask pixel (row, column) as inside/outside whatever the dtype, through the strides.
class MaskReader {
 public:
  explicit MaskReader(const Tensor& mask) : mask_(mask.contiguous()) {
    QATD_CHECK(mask.dim() == 2, "rle_encode: the mask must be (H, W), got {} dimensions", mask.dim());
  }
  bool inside(int64_t index) const {
    switch (mask_.dtype()) {
      case DType::boolean: return mask_.data<bool>()[index];
      case DType::u8: return mask_.data<uint8_t>()[index] != 0;
      case DType::f32: return mask_.data<float>()[index] > 0.5f;
      case DType::f64: return mask_.data<double>()[index] > 0.5;
      default: QATD_CHECK(false, "rle_encode: masks must be bool, u8, f32 or f64, got {}", dtype_name(mask_.dtype()));
    }
    return false;
  }

 private:
  Tensor mask_;
};

void check_total(const Rle& rle, const std::string& what) {
  uint64_t total = std::accumulate(rle.counts.begin(), rle.counts.end(), uint64_t{0});
  QATD_CHECK(total == static_cast<uint64_t>(rle.height * rle.width),
             "{}: the run lengths sum to {} but the mask is {} x {} = {} pixels", what, total, rle.height, rle.width,
             rle.height * rle.width);
}

}  // namespace

Rle rle_encode(const Tensor& mask) {
  MaskReader reader(mask);
  Rle rle{mask.size(0), mask.size(1), {}};
  bool current = false;
  uint32_t run = 0;
  // Column-major, as COCO (Fortran order).
  for (int64_t column = 0; column < rle.width; ++column) {
    for (int64_t row = 0; row < rle.height; ++row) {
      bool value = reader.inside(row * rle.width + column);
      if (value != current) {
        rle.counts.push_back(run);
        run = 0;
        current = value;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

Tensor rle_decode(const Rle& rle) {
  check_total(rle, "rle_decode");
  Tensor mask = zeros({rle.height, rle.width}, DType::boolean);
  bool* pixels = mask.data<bool>();
  int64_t position = 0;
  bool value = false;
  for (uint32_t count : rle.counts) {
    if (!value) {
      position += count;
      value = true;
      continue;
    }
    for (uint32_t k = 0; k < count; ++k, ++position) pixels[(position % rle.height) * rle.width + position / rle.height] = true;
    value = false;
  }
  return mask;
}

std::string rle_to_string(const Rle& rle) {
  std::string text;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t value = rle.counts[i];
    // maskApi.c deltas from the third count on (i > 2, as written there).
    if (i > 2) value -= static_cast<int64_t>(rle.counts[i - 2]);
    bool more = true;
    while (more) {
      int64_t group = value & 0x1f;
      value >>= 5;
      more = (group & 0x10) ? value != -1 : value != 0;
      if (more) group |= 0x20;
      text.push_back(static_cast<char>(group + 48));
    }
  }
  return text;
}

Rle rle_from_string(std::string_view counts, int64_t height, int64_t width, const std::string& what) {
  QATD_CHECK(height >= 0 && width >= 0, "{}: the mask size [{}, {}] is negative", what, height, width);
  QATD_CHECK(width == 0 || height <= std::numeric_limits<int64_t>::max() / width, "{}: the mask size [{}, {}] is too large",
             what, height, width);
  Rle rle{height, width, {}};
  size_t position = 0;
  while (position < counts.size()) {
    int64_t value = 0;
    int shift = 0;
    bool more = true;
    while (more) {
      QATD_CHECK(position < counts.size(), "{}: the RLE string ends inside a count", what);
      int64_t group = static_cast<unsigned char>(counts[position]) - 48;
      QATD_CHECK(group >= 0 && group < 64, "{}: character {} ('{}') is not part of a COCO RLE string", what, position,
                 counts[position]);
      QATD_CHECK(shift < 60, "{}: a count at character {} is too long", what, position);
      value |= (group & 0x1f) << shift;
      more = (group & 0x20) != 0;
      ++position;
      shift += 5;
      if (!more && (group & 0x10)) value |= -(int64_t{1} << shift);
    }
    if (rle.counts.size() > 2) value += rle.counts[rle.counts.size() - 2];
    QATD_CHECK(value >= 0 && value <= height * width, "{}: run {} has length {}, outside [0, {}]", what,
               rle.counts.size(), value, height * width);
    rle.counts.push_back(static_cast<uint32_t>(value));
  }
  check_total(rle, what);
  return rle;
}

int64_t rle_area(const Rle& rle) {
  int64_t area = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

}  // namespace qatd::train::data
