#pragma once
// Shared by the SAM 2 config readers (not part of the public API).
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/sam2/sam2_config.h"

namespace qatd::sam2::detail {

// The strict reader of a model block; `path` is the dotted path of the block in its source
// ("model", "trainer.model"), used in messages. Does not validate.
SAM2Config read_model_block(const nlohmann::json& model_block, const std::string& path, const std::string& source);


}  // namespace qatd::sam2::detail
