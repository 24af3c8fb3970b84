#include "models/sam2/connected_components.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/engine.h"
#include "kernels/cpu/parallel.h"

namespace qatd::sam2 {

namespace {

// Union-find over pixel indices; the smaller index becomes the root, as in the CUDA kernel's union.
class DisjointSets {
 public:
  void reset(int64_t size) { parent_.resize(size); }
  void make(int32_t x) { parent_[x] = x; }
  int32_t find(int32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void unite(int32_t a, int32_t b) {
    a = find(a);
    b = find(b);
    if (a < b) parent_[b] = a;
    if (b < a) parent_[a] = b;
  }

 private:
  std::vector<int32_t> parent_;
};

// One (H, W) image: a raster scan unites each foreground pixel with its foreground neighbours among the
// four already visited (left, up-left, up, up-right), then every component gets its area and its label.
void label_image(const uint8_t* image, int64_t height, int64_t width, int32_t* labels, int32_t* counts,
                 DisjointSets& sets, std::vector<int32_t>& first_block, std::vector<int32_t>& area) {
  const int64_t pixels = height * width;
  sets.reset(pixels);
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const auto p = static_cast<int32_t>(r * width + c);
      if (!image[p]) continue;
      sets.make(p);
      if (c > 0 && image[p - 1]) sets.unite(p, p - 1);
      if (r == 0) continue;
      const auto up = static_cast<int32_t>(p - width);
      if (c > 0 && image[up - 1]) sets.unite(p, up - 1);
      if (image[up]) sets.unite(p, up);
      if (c + 1 < width && image[up + 1]) sets.unite(p, up + 1);
    }
  }
  first_block.assign(pixels, std::numeric_limits<int32_t>::max());
  area.assign(pixels, 0);
  for (int64_t r = 0; r < height; ++r) {
    // The linear index of the top-left pixel of the 2x2 block holding (r, c).
    const int64_t block_row = (r & ~int64_t{1}) * width;
    for (int64_t c = 0; c < width; ++c) {
      const auto p = static_cast<int32_t>(r * width + c);
      if (!image[p]) continue;
      const int32_t root = sets.find(p);
      labels[p] = root;
      first_block[root] = std::min(first_block[root], static_cast<int32_t>(block_row + (c & ~int64_t{1})));
      ++area[root];
    }
  }
  for (int64_t p = 0; p < pixels; ++p) {
    if (image[p]) {
      const int32_t root = labels[p];
      labels[p] = first_block[root] + 1;
      counts[p] = area[root];
    } else {
      labels[p] = 0;
      counts[p] = 0;
    }
  }
}

}  // namespace

ConnectedComponents get_connected_components(const Tensor& mask) {
  QATD_CHECK(mask.defined(), "get_connected_components: mask is undefined");
  QATD_CHECK(mask.dtype() == DType::boolean || mask.dtype() == DType::u8,
             "get_connected_components: mask must be bool or uint8, got {}", dtype_name(mask.dtype()));
  QATD_CHECK(mask.dim() == 4 && mask.size(1) == 1, "get_connected_components: mask must be (N, 1, H, W), got {}",
             shape_str(mask.shape()));
  QATD_CHECK(mask.device().is_cpu(), "get_connected_components: mask must be on the CPU, got {}",
             mask.device().str());
  const int64_t images = mask.size(0), height = mask.size(2), width = mask.size(3);
  QATD_CHECK(height * width < std::numeric_limits<int32_t>::max(),
             "get_connected_components: {} x {} pixels exceed the int32 labels", height, width);
  Tensor bytes = mask.contiguous();
  const auto* input = static_cast<const uint8_t*>(bytes.raw_data());
  ConnectedComponents result{empty(mask.shape(), DType::i32), empty(mask.shape(), DType::i32)};
  int32_t* labels = result.labels.data<int32_t>();
  int32_t* counts = result.counts.data<int32_t>();
  const int64_t pixels = height * width;
  kernels::cpu::parallel_for(0, images, 1, [&](int64_t begin, int64_t end) {
    DisjointSets sets;
    std::vector<int32_t> first_block, area;
    for (int64_t n = begin; n < end; ++n) {
      label_image(input + n * pixels, height, width, labels + n * pixels, counts + n * pixels, sets, first_block,
                  area);
    }
  });
  return result;
}

Tensor fill_holes_in_mask_scores(const Tensor& mask, double max_area) {
  QATD_CHECK(max_area > 0.0, "fill_holes_in_mask_scores: max_area must be positive, got {}", max_area);
  QATD_CHECK(mask.defined() && is_floating(mask.dtype()),
             "fill_holes_in_mask_scores: mask must be floating-point scores (N, 1, H, W)");
  ConnectedComponents components = get_connected_components(le(mask, 0.0));
  Tensor is_hole = logical_and(gt(components.labels, 0.0), le(components.counts, max_area));
  return where(logical_not(is_hole), mask, 0.1);
}

}  // namespace qatd::sam2
