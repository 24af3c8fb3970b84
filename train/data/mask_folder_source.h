#pragma once
// Image folders with PNG instance masks, as DAVIS and YouTube-VOS lay them out (JPEGImages/<video>/00000.jpg
// with Annotations/<video>/00000.png): every image under the images root (.jpg, .jpeg, .png, searched
// recursively) whose mask <masks root>/<same relative path>.png exists is an item. The mask is a label map:
// a palette PNG (object id = palette index, as SAM 2's PalettisedPNGSegmentLoader reads DAVIS), 8-bit gray
// (id = value) or 16-bit gray (id = value). Id 0 is background; every other id present is one instance,
// in increasing id order.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/data/image_source.h"

namespace qatd::train::data {

struct MaskFolderOptions {
  // Ids that are not objects, e.g. 255 for PASCAL VOC's "void" border.
  std::vector<int64_t> ignore_ids;
};

class MaskFolderSource : public ImageSource {
 public:
  // Throws naming the roots when one does not exist or no image has a mask.
  MaskFolderSource(const std::filesystem::path& images_root, const std::filesystem::path& masks_root,
                   const MaskFolderOptions& options = {});

  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  std::string name(int64_t index) const override;
  // A mask whose size is not the image's throws naming both files and both sizes.
  AnnotatedImage load(int64_t index) const override;

  int64_t images_without_mask() const { return images_without_mask_; }
  int64_t masks_without_image() const { return masks_without_image_; }

 private:
  struct Item {
    std::filesystem::path image;
    std::filesystem::path mask;
  };
  const Item& item(int64_t index) const;

  std::filesystem::path images_root_;
  MaskFolderOptions options_;
  std::vector<Item> items_;
  int64_t images_without_mask_ = 0;
  int64_t masks_without_image_ = 0;
};

// One RLE per id present in a (H, W) u8 or i32 label map, in increasing id order, leaving out 0 and
// `ignore_ids`. One pass over the pixels, whatever the number of ids.
std::vector<Rle> instances_from_labels(const Tensor& labels, const std::vector<int64_t>& ignore_ids);

}  // namespace qatd::train::data
