#include "train/data/sav_source.h"

#include <algorithm>
#include <system_error>

#include "engine/error.h"
#include "engine/io/image.h"
#include "train/data/coco_json.h"

namespace qatd::train::data {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = "_manual.json";

struct VideoJson {
  nlohmann::json document;
  int64_t height = 0;
  int64_t width = 0;
};

// Reads a video's JSON and checks its structure: the keys, their types, and that every object on every
// annotated frame is an RLE object or null (the RLEs themselves are read where they are used).
VideoJson read_video_json(const fs::path& path, const std::string& video_id) {
  const std::string file = path.string();
  VideoJson video{read_json_file(path)};
  const nlohmann::json& id = json_member(video.document, "video_id", file);
  QATD_CHECK(id.is_string(), "{}: video_id: expected a string, got {}", file, id.type_name());
  QATD_CHECK(id.get_ref<const std::string&>() == video_id, "{}: video_id is \"{}\" but the file name says \"{}\"", file,
             id.get_ref<const std::string&>(), video_id);
  video.height = json_integer(json_member(video.document, "video_height", file), file + ": video_height");
  video.width = json_integer(json_member(video.document, "video_width", file), file + ": video_width");
  QATD_CHECK(video.height > 0 && video.width > 0, "{}: the video size {} x {} is not positive", file, video.height,
             video.width);
  const nlohmann::json& frames = json_array(json_member(video.document, "masklet", file), file + ": masklet");
  for (size_t k = 0; k < frames.size(); ++k) {
    if (frames[k].is_null()) continue;
    const nlohmann::json& objects = json_array(frames[k], fmt::format("{}: masklet[{}]", file, k));
    for (size_t j = 0; j < objects.size(); ++j) {
      QATD_CHECK(objects[j].is_null() || objects[j].is_object(),
                 "{}: masklet[{}][{}]: expected an RLE object or null, got {}", file, k, j, objects[j].type_name());
    }
  }
  return video;
}

bool has_object(const nlohmann::json& frame) {
  if (frame.is_null()) return false;
  for (const nlohmann::json& object : frame) {
    if (!object.is_null()) return true;
  }
  return false;
}

}  // namespace

SavSource::SavSource(const fs::path& frames_root, const fs::path& annotations_root, const SavOptions& options)
    : frames_root_(frames_root), options_(options) {
  QATD_CHECK(options.ann_every >= 1, "SA-V source {}: ann_every must be at least 1, got {}", annotations_root.string(),
             options.ann_every);
  std::error_code error;
  QATD_CHECK(fs::is_directory(frames_root, error), "SA-V source: the frames folder {} does not exist",
             frames_root.string());
  QATD_CHECK(fs::is_directory(annotations_root, error), "SA-V source: the annotations folder {} does not exist",
             annotations_root.string());
  std::vector<std::string> file_names;
  fs::directory_iterator it(annotations_root, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::string file_name = it->path().filename().string();
    std::error_code status_error;
    if (file_name.size() > kSuffix.size() && file_name.ends_with(kSuffix) && it->is_regular_file(status_error)) {
      file_names.push_back(file_name);
    }
  }
  QATD_CHECK(!error, "SA-V source: cannot list {}: {}", annotations_root.string(), error.message());
  std::sort(file_names.begin(), file_names.end());

  for (const std::string& file_name : file_names) {
    Video video{file_name.substr(0, file_name.size() - kSuffix.size()), annotations_root / file_name};
    VideoJson parsed = read_video_json(video.annotations, video.id);
    const nlohmann::json& frames = parsed.document["masklet"];
    const int64_t video_index = static_cast<int64_t>(videos_.size());
    for (size_t k = 0; k < frames.size(); ++k) {
      if (has_object(frames[k])) items_.push_back({video_index, static_cast<int64_t>(k)});
    }
    videos_.push_back(std::move(video));
  }
  QATD_CHECK(!items_.empty(), "SA-V source: no annotated object in {} ({} *{} files), frames in {}",
             annotations_root.string(), file_names.size(), kSuffix, frames_root.string());
}

const SavSource::Item& SavSource::item(int64_t index) const {
  QATD_CHECK(index >= 0 && index < size(), "SA-V source {}: item {} is out of range [0, {})", frames_root_.string(),
             index, size());
  return items_[static_cast<size_t>(index)];
}

fs::path SavSource::frame_path(const Item& entry) const {
  return frames_root_ / videos_[static_cast<size_t>(entry.video)].id /
         fmt::format("{:05d}.jpg", entry.annotated_frame * options_.ann_every);
}

std::string SavSource::name(int64_t index) const { return frame_path(item(index)).string(); }

AnnotatedImage SavSource::load(int64_t index) const {
  const Item& entry = item(index);
  const Video& video = videos_[static_cast<size_t>(entry.video)];
  AnnotatedImage result;
  fs::path frame = frame_path(entry);
  result.name = frame.string();
  std::error_code error;
  QATD_CHECK(fs::is_regular_file(frame, error), "{}: the frame file does not exist (video {}, annotated frame {})",
             result.name, video.id, entry.annotated_frame);
  result.image = io::read_image(result.name);

  const std::string file = video.annotations.string();
  VideoJson parsed = read_video_json(video.annotations, video.id);
  QATD_CHECK(result.image.size(0) == parsed.height && result.image.size(1) == parsed.width,
             "{}: the video is {} x {} but its frame {} is {} x {} (height x width)", file, parsed.height, parsed.width,
             result.name, result.image.size(0), result.image.size(1));
  const nlohmann::json& frames = parsed.document["masklet"];
  QATD_CHECK(entry.annotated_frame < static_cast<int64_t>(frames.size()),
             "{}: masklet has {} frames, no longer frame {} (the file changed since it was listed)", file,
             frames.size(), entry.annotated_frame);
  const nlohmann::json& objects = frames[static_cast<size_t>(entry.annotated_frame)];
  if (objects.is_null()) return result;
  for (size_t j = 0; j < objects.size(); ++j) {
    if (objects[j].is_null()) continue;
    const std::string what = fmt::format("{}: masklet[{}][{}]", file, entry.annotated_frame, j);
    Rle rle = rle_from_json(objects[j], what);
    QATD_CHECK(rle.height == parsed.height && rle.width == parsed.width,
               "{}: the mask is {} x {} but the video is {} x {} (height x width)", what, rle.height, rle.width,
               parsed.height, parsed.width);
    if (rle_area(rle) > 0) result.masks.push_back(std::move(rle));
  }
  return result;
}

}  // namespace qatd::train::data
