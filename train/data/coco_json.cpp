#include "train/data/coco_json.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/error.h"
#include "engine/io/image.h"

namespace qatd::train::data {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  QATD_CHECK(file.is_open(), "{}: cannot open the file ({})", path.string(),
             std::filesystem::exists(path) ? "unreadable" : "it does not exist");
  std::ostringstream text;
  text << file.rdbuf();
  QATD_CHECK(!file.bad(), "{}: reading the file failed", path.string());
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& error) {
    fail("{}: not valid JSON: {}", path.string(), error.what());
  }
}

const nlohmann::json& json_member(const nlohmann::json& object, std::string_view key, const std::string& what) {
  QATD_CHECK(object.is_object(), "{}: expected a JSON object, got {}", what, object.type_name());
  auto found = object.find(key);
  QATD_CHECK(found != object.end(), "{}: the key \"{}\" is missing", what, key);
  return *found;
}

int64_t json_integer(const nlohmann::json& value, const std::string& what) {
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    QATD_CHECK(number <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "{}: {} is too large", what,
               number);
    return static_cast<int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  QATD_CHECK(value.is_number_float(), "{}: expected an integer, got {}", what, value.type_name());
  double number = value.get<double>();
  QATD_CHECK(std::isfinite(number) && std::floor(number) == number && std::abs(number) < 9.0e15,
             "{}: expected an integer, got {}", what, number);
  return static_cast<int64_t>(number);
}

const nlohmann::json& json_array(const nlohmann::json& value, const std::string& what) {
  QATD_CHECK(value.is_array(), "{}: expected a list, got {}", what, value.type_name());
  return value;
}

Rle rle_from_json(const nlohmann::json& segmentation, const std::string& what) {
  const nlohmann::json& size = json_array(json_member(segmentation, "size", what), what + ".size");
  QATD_CHECK(size.size() == 2, "{}.size: expected [height, width], got {} values", what, size.size());
  int64_t height = json_integer(size[0], what + ".size[0]");
  int64_t width = json_integer(size[1], what + ".size[1]");
  QATD_CHECK(height >= 0 && width >= 0, "{}.size: [{}, {}] is negative", what, height, width);
  // Bounded like images, so that height * width cannot overflow.
  QATD_CHECK(width == 0 || height <= io::kMaxImagePixels / width, "{}.size: [{}, {}] is larger than any image", what,
             height, width);

  const nlohmann::json& counts = json_member(segmentation, "counts", what);
  if (counts.is_string()) return rle_from_string(counts.get_ref<const std::string&>(), height, width, what + ".counts");
  QATD_CHECK(counts.is_array(), "{}.counts: expected a string (compressed) or a list of run lengths, got {}", what,
             counts.type_name());
  Rle rle{height, width, {}};
  rle.counts.reserve(counts.size());
  uint64_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t run = json_integer(counts[i], fmt::format("{}.counts[{}]", what, i));
    QATD_CHECK(run >= 0 && run <= height * width, "{}.counts[{}]: run length {} is outside [0, {}]", what, i, run,
               height * width);
    rle.counts.push_back(static_cast<uint32_t>(run));
    total += static_cast<uint64_t>(run);
  }
  QATD_CHECK(total == static_cast<uint64_t>(height * width),
             "{}.counts: the run lengths sum to {} but the mask is {} x {} = {} pixels", what, total, height, width,
             height * width);
  return rle;
}

}  // namespace qatd::train::data
