#include "train/data/data_sources.h"

#include "engine/error.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_base.h"
#include "train/data/mask_folder_source.h"
#include "train/data/procedural_shapes.h"
#include "train/data/pseudo_label_source.h"
#include "train/data/sa1b_source.h"
#include "train/data/sav_source.h"

namespace qatd::train::data {

namespace {

std::shared_ptr<const ImageSource> make_source(const TrainConfig& config) {
  const DataSettings& data = config.data;
  switch (data.source) {
    case DataSource::synthetic:
      return std::make_shared<ProceduralShapes>(data.count + data.validation_count, data.image_size,
                                                static_cast<uint64_t>(data.seed));
    case DataSource::sa1b:
      return std::make_shared<Sa1bSource>(data.images);
    case DataSource::folder:
      return std::make_shared<MaskFolderSource>(data.images, data.masks);
    case DataSource::sav:
      return std::make_shared<SavSource>(data.images, data.masks);
    case DataSource::pseudo: {
      QATD_CHECK(!config.model.teacher_checkpoint_or_student().empty(),
                 "data.source = \"pseudo\" labels images with the teacher: set model.teacher_checkpoint (or "
                 "model.checkpoint)");
      std::shared_ptr<sam2::SAM2Base> teacher =
          sam2::build_sam2(config.model.config, config.model.teacher_checkpoint_or_student());
      teacher->eval();
      PseudoLabelOptions options;
      options.points_per_side = data.pseudo_points;
      options.min_iou = data.pseudo_min_iou;
      return std::make_shared<PseudoLabelSource>(data.images, std::move(teacher), options);
    }
  }
  fail("data.source: unknown source");
}

}  // namespace

std::shared_ptr<const ImageSource> make_image_source(const TrainConfig& config) {
  try {
    return make_source(config);
  } catch (const Error& error) {
    fail("data.source = \"{}\" (data.images = \"{}\", data.masks = \"{}\"): {}", to_string(config.data.source),
         config.data.images, config.data.masks, error.what());
  }
}

int64_t mask_prompt_size(const sam2::SAM2Base& model) { return 4 * (model.image_size / 16); }

}  // namespace qatd::train::data
