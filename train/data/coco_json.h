#pragma once
// The JSON side of the COCO-style annotation formats (SA-1B, SA-V): reading a file, typed access to its
// fields and COCO RLE objects ({"size": [h, w], "counts": ...}, as pycocotools' frPyObjects accepts them).
// Every error names `what`, the file and the path of the value inside it, e.g.
// "sa_12.json: annotations[3].segmentation.counts: ...".
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "train/data/coco_rle.h"

namespace qatd::train::data {

// Parses a whole file. Throws naming the file when it is missing, unreadable or not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

// object[key]. Throws when `object` is not a JSON object or lacks the key.
const nlohmann::json& json_member(const nlohmann::json& object, std::string_view key, const std::string& what);
// An integer (a float with an integral value is accepted, as Python's json writes some sizes that way).
int64_t json_integer(const nlohmann::json& value, const std::string& what);
const nlohmann::json& json_array(const nlohmann::json& value, const std::string& what);

// A COCO RLE object. "counts" is the compressed string or the uncompressed list of run lengths; either
// must sum to h * w.
Rle rle_from_json(const nlohmann::json& segmentation, const std::string& what);

}  // namespace qatd::train::data
