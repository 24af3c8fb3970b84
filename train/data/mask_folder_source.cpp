#include "train/data/mask_folder_source.h"

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "engine/error.h"
#include "engine/io/image.h"
#include "train/data/image_files.h"

namespace qatd::train::data {

namespace fs = std::filesystem;

namespace {

// The run lengths of one id, built as the column-major scan crosses its boundaries.
struct RunBuilder {
  std::vector<uint32_t> counts;
  int64_t last_boundary = 0;
  void boundary(int64_t position) {
    counts.push_back(static_cast<uint32_t>(position - last_boundary));
    last_boundary = position;
  }
};

template <typename T>
std::vector<Rle> scan_labels(const T* pixels, int64_t height, int64_t width, const std::vector<int64_t>& ignore_ids) {
  auto is_object = [&](int64_t id) {
    return id != 0 && std::find(ignore_ids.begin(), ignore_ids.end(), id) == ignore_ids.end();
  };
  std::map<int64_t, RunBuilder> builders;
  int64_t previous = 0;  // before the first pixel: background, so an object there starts with a 0-length run
  int64_t position = 0;
  for (int64_t column = 0; column < width; ++column) {
    for (int64_t row = 0; row < height; ++row, ++position) {
      int64_t id = pixels[row * width + column];
      if (id == previous) continue;
      if (is_object(previous)) builders[previous].boundary(position);
      if (is_object(id)) builders[id].boundary(position);
      previous = id;
    }
  }
  std::vector<Rle> instances;
  for (auto& [id, builder] : builders) {
    builder.boundary(height * width);
    instances.push_back({height, width, std::move(builder.counts)});
  }
  return instances;
}

std::string size_text(const Tensor& tensor) { return fmt::format("{} x {}", tensor.size(0), tensor.size(1)); }

}  // namespace

std::vector<Rle> instances_from_labels(const Tensor& labels, const std::vector<int64_t>& ignore_ids) {
  QATD_CHECK(labels.dim() == 2, "instances_from_labels: expected an (H, W) label map, got {} dimensions", labels.dim());
  Tensor dense = labels.contiguous();
  if (dense.dtype() == DType::u8) return scan_labels(dense.data<uint8_t>(), dense.size(0), dense.size(1), ignore_ids);
  QATD_CHECK(dense.dtype() == DType::i32, "instances_from_labels: label maps are u8 or i32, got {}", dense.dtype());
  return scan_labels(dense.data<int32_t>(), dense.size(0), dense.size(1), ignore_ids);
}

MaskFolderSource::MaskFolderSource(const fs::path& images_root, const fs::path& masks_root,
                                   const MaskFolderOptions& options)
    : images_root_(images_root), options_(options) {
  std::set<std::string> used_masks;
  for (const fs::path& relative : list_image_files(images_root, true)) {
    fs::path mask_relative = fs::path(relative).replace_extension(".png");
    fs::path mask = masks_root / mask_relative;
    std::error_code error;
    if (fs::is_regular_file(mask, error)) {
      items_.push_back({images_root / relative, mask});
      used_masks.insert(mask_relative.generic_string());
    } else {
      ++images_without_mask_;
    }
  }
  for (const fs::path& relative : list_files_with_extension(masks_root, ".png")) {
    if (!used_masks.contains(relative.generic_string())) ++masks_without_image_;
  }
  QATD_CHECK(!items_.empty(), "mask folder source: no image under {} has a .png mask under {} ({} images, {} masks)",
             images_root.string(), masks_root.string(), images_without_mask_, masks_without_image_);
}

const MaskFolderSource::Item& MaskFolderSource::item(int64_t index) const {
  QATD_CHECK(index >= 0 && index < size(), "mask folder source {}: item {} is out of range [0, {})",
             images_root_.string(), index, size());
  return items_[static_cast<size_t>(index)];
}

std::string MaskFolderSource::name(int64_t index) const { return item(index).image.string(); }

AnnotatedImage MaskFolderSource::load(int64_t index) const {
  const Item& entry = item(index);
  AnnotatedImage result;
  result.name = entry.image.string();
  result.image = io::read_image(result.name);
  Tensor labels = io::read_png_labels(entry.mask.string());
  QATD_CHECK(labels.size(0) == result.image.size(0) && labels.size(1) == result.image.size(1),
             "{}: the mask is {} but the image {} is {} (height x width)", entry.mask.string(), size_text(labels),
             result.name, size_text(result.image));
  result.masks = instances_from_labels(labels, options_.ignore_ids);
  return result;
}

}  // namespace qatd::train::data
