#pragma once
// The ImageSource a config's [data] section names, and the model-dependent sizes the data layer needs.
#include <cstdint>
#include <memory>

#include "train/data/image_source.h"
#include "train/train_config.h"

namespace qatd::sam2 {
class SAM2Base;
}

namespace qatd::train::data {

// data.source: synthetic -> ProceduralShapes(count + validation_count items), sa1b -> Sa1bSource(images),
// folder -> MaskFolderSource(images, masks), sav -> SavSource(images, masks), pseudo ->
// PseudoLabelSource(images) labelled by the teacher (model.config with model.teacher_checkpoint, or
// model.checkpoint). Throws naming the key for a missing folder or an empty one.
std::shared_ptr<const ImageSource> make_image_source(const TrainConfig& config);

// SAM 2's mask-prompt side: 4x the image embedding (image_size / 16), 256 at 1024.
int64_t mask_prompt_size(const sam2::SAM2Base& model);

}  // namespace qatd::train::data
