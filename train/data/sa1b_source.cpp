#include "train/data/sa1b_source.h"

#include <system_error>

#include "engine/error.h"
#include "engine/io/image.h"
#include "train/data/coco_json.h"
#include "train/data/image_files.h"

namespace qatd::train::data {

namespace fs = std::filesystem;

Sa1bSource::Sa1bSource(const fs::path& folder, const Sa1bOptions& options) : folder_(folder), options_(options) {
  QATD_CHECK(options.min_area_fraction >= 0.0 && options.min_area_fraction <= 1.0,
             "SA-1B source {}: min_area_fraction must be in [0, 1], got {}", folder.string(),
             options.min_area_fraction);
  QATD_CHECK(!options.max_masks || *options.max_masks >= 1, "SA-1B source {}: max_masks must be at least 1, got {}",
             folder.string(), options.max_masks.value_or(0));
  for (const fs::path& relative : list_image_files(folder, false)) {
    fs::path image = folder / relative;
    fs::path annotations = fs::path(image).replace_extension(".json");
    std::error_code error;
    if (fs::is_regular_file(annotations, error)) {
      items_.push_back({image, annotations});
    } else {
      ++images_without_json_;
    }
  }
  QATD_CHECK(!items_.empty(), "SA-1B source {}: no image with a same-name .json file ({} images without one)",
             folder.string(), images_without_json_);
}

const Sa1bSource::Item& Sa1bSource::item(int64_t index) const {
  QATD_CHECK(index >= 0 && index < size(), "SA-1B source {}: item {} is out of range [0, {})", folder_.string(), index,
             size());
  return items_[static_cast<size_t>(index)];
}

std::string Sa1bSource::name(int64_t index) const { return item(index).image.string(); }

AnnotatedImage Sa1bSource::load(int64_t index) const {
  const Item& entry = item(index);
  AnnotatedImage result;
  result.name = entry.image.string();
  result.image = io::read_image(entry.image.string());
  const int64_t height = result.image.size(0), width = result.image.size(1);

  const std::string file = entry.annotations.string();
  nlohmann::json document = read_json_file(entry.annotations);
  QATD_CHECK(document.is_object(), "{}: expected a JSON object at the top, got {}", file, document.type_name());
  if (auto image_info = document.find("image"); image_info != document.end() && image_info->is_object()) {
    // The recorded size must be the image's: a mismatch means the JSON belongs to another image.
    for (auto [key, actual] : {std::pair{"height", height}, std::pair{"width", width}}) {
      if (!image_info->contains(key)) continue;
      int64_t recorded = json_integer(image_info->at(key), file + ": image." + key);
      QATD_CHECK(recorded == actual, "{}: image.{} is {} but {} is {} x {} (height x width)", file, key, recorded,
                 result.name, height, width);
    }
  }

  const nlohmann::json& annotations = json_array(json_member(document, "annotations", file), file + ": annotations");
  const double min_area = options_.min_area_fraction * static_cast<double>(height * width);
  for (size_t i = 0; i < annotations.size(); ++i) {
    const std::string what = fmt::format("{}: annotations[{}].segmentation", file, i);
    Rle rle =
        rle_from_json(json_member(annotations[i], "segmentation", fmt::format("{}: annotations[{}]", file, i)), what);
    QATD_CHECK(rle.height == height && rle.width == width,
               "{}: the mask is {} x {} but the image {} is {} x {} (height x width)", what, rle.height, rle.width,
               result.name, height, width);
    int64_t area = rle_area(rle);
    bool wanted = area > 0 && static_cast<double>(area) >= min_area &&
                  (!options_.max_masks || static_cast<int64_t>(result.masks.size()) < *options_.max_masks);
    if (wanted) result.masks.push_back(std::move(rle));
  }
  return result;
}

}  // namespace qatd::train::data
