#pragma once
// SA-1B (segment-anything.com): a folder of sa_<id>.jpg images, each with sa_<id>.json holding
// {"image": {"image_id", "width", "height", "file_name"}, "annotations": [{"id", "segmentation": {"size": [h, w],
// "counts": "<compressed RLE>"}, "area", "bbox", "predicted_iou", "stability_score", ...}]}.
// Any image file with a same-stem .json is an item (uncompressed counts, a list of run lengths, are accepted
// too); images without one are ignored and counted. Reads what SAM 2's SA1BSegmentLoader
// (training/dataset/vos_segment_loader.py) reads, with a minimum instead of its maximum area filter.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "train/data/image_source.h"

namespace qatd::train::data {

struct Sa1bOptions {
  // Masks covering less than this fraction of the image are left out (empty masks always are).
  double min_area_fraction = 0.0;
  // At most this many masks per image: the first ones in the file's order that pass the area filter.
  std::optional<int64_t> max_masks;
};

class Sa1bSource : public ImageSource {
 public:
  // Throws naming the folder when it does not exist or holds no image + JSON pair.
  explicit Sa1bSource(const std::filesystem::path& folder, const Sa1bOptions& options = {});

  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  std::string name(int64_t index) const override;
  // Every annotation is checked, also those the filters drop: a segmentation whose size is not the decoded
  // image's, a malformed RLE or JSON throws naming the JSON file and the annotation index.
  AnnotatedImage load(int64_t index) const override;

  int64_t images_without_json() const { return images_without_json_; }

 private:
  struct Item {
    std::filesystem::path image;
    std::filesystem::path annotations;
  };
  const Item& item(int64_t index) const;

  std::filesystem::path folder_;
  Sa1bOptions options_;
  std::vector<Item> items_;
  int64_t images_without_json_ = 0;
};

}  // namespace qatd::train::data
