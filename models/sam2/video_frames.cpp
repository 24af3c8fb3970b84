#include "models/sam2/video_frames.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>

#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/io/image_resize.h"
#include "kernels/cpu/parallel.h"

namespace qatd::sam2 {

namespace {

namespace fs = std::filesystem;

// Python's os.path.splitext on a file name: the extension starts at the last dot, unless only dots
// precede it (".jpg" and "..jpg" have none).
std::pair<std::string, std::string> split_extension(const std::string& name) {
  size_t dot = name.rfind('.');
  size_t first_other = name.find_first_not_of('.');
  if (dot == std::string::npos || first_other == std::string::npos || dot < first_other) return {name, ""};
  return {name.substr(0, dot), name.substr(dot)};
}

bool is_jpeg_extension(const std::string& extension) {
  return extension == ".jpg" || extension == ".jpeg" || extension == ".JPG" || extension == ".JPEG";
}

bool is_png_extension(const std::string& extension) { return extension == ".png" || extension == ".PNG"; }

// An integer of any size, as Python's int() reads it, kept as a sign and its digits without leading zeros.
struct FrameNumber {
  bool negative = false;
  std::string digits;

  std::string str() const { return (negative ? "-" : "") + digits; }
  bool operator==(const FrameNumber&) const = default;
  bool operator<(const FrameNumber& other) const {
    if (negative != other.negative) return negative;
    bool shorter = digits.size() < other.digits.size() ||
                   (digits.size() == other.digits.size() && digits < other.digits);
    bool equal = digits == other.digits;
    return !equal && (negative ? !shorter : shorter);
  }
};

// int(text) for ASCII text: surrounding whitespace, an optional sign, decimal digits with single
// underscores between them.
std::optional<FrameNumber> parse_frame_number(std::string_view text) {
  constexpr std::string_view kWhitespace = " \t\n\v\f\r";
  size_t begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return std::nullopt;
  text = text.substr(begin, text.find_last_not_of(kWhitespace) - begin + 1);
  FrameNumber number;
  if (text.front() == '+' || text.front() == '-') {
    number.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.front() == '_' || text.back() == '_') return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_') {
      if (text[i + 1] == '_') return std::nullopt;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    if (!(number.digits.empty() && c == '0')) number.digits.push_back(c);
  }
  if (number.digits.empty()) {
    number.digits.push_back('0');
    number.negative = false;
  }
  return number;
}

struct FrameFile {
  FrameNumber number;
  std::string name;
};

// (H, W, 3) uint8 RGB of a frame at S x S, as PIL's Image.open(path).convert("RGB").resize((S, S)).
// Remembers the size before resizing.
Tensor read_resized_frame(const std::string& path, int64_t image_size, int64_t* height, int64_t* width) {
  Tensor rgb = io::read_image(path);
  *height = rgb.size(0);
  *width = rgb.size(1);
  return io::resize_image(rgb, image_size, image_size);
}

void check_image_size(int64_t image_size, const char* what) {
  QATD_CHECK(image_size > 0, "{}: image_size must be positive, got {}", what, image_size);
}

}  // namespace

std::vector<std::string> list_video_frames(const std::string& video_path) {
  std::error_code error;
  fs::file_status status = fs::status(video_path, error);
  QATD_CHECK(status.type() != fs::file_type::not_found, "load_video_frames: {}: no such directory", video_path);
  QATD_CHECK(fs::exists(status), "load_video_frames: cannot access {}: {}", video_path, error.message());
  QATD_CHECK(fs::is_directory(status),
             "load_video_frames: {} is not a directory: only folders of JPEG or PNG frames named by their index "
             "(00000.jpg, 00001.jpg, ...) are supported; extract the frames of a video file first (ffmpeg -i video.mp4 "
             "-q:v 2 -start_number 0 folder/'%05d.jpg')",
             video_path);
  std::vector<std::string> jpeg_names, png_names;
  fs::directory_iterator entries(video_path, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    std::string name = entries->path().filename().string();
    std::string extension = split_extension(name).second;
    if (is_jpeg_extension(extension)) jpeg_names.push_back(name);
    if (is_png_extension(extension)) png_names.push_back(name);
  }
  QATD_CHECK(!error, "load_video_frames: cannot list {}: {}", video_path, error.message());
  const std::vector<std::string>& names = jpeg_names.empty() ? png_names : jpeg_names;
  QATD_CHECK(!names.empty(), "load_video_frames: no images found in {} (frames are .jpg, .jpeg, .JPG, .JPEG, or .png, "
             ".PNG files named by their index)", video_path);

  std::vector<FrameFile> frames;
  for (const std::string& name : names) {
    std::string stem = split_extension(name).first;
    std::optional<FrameNumber> number = parse_frame_number(stem);
    QATD_CHECK(number.has_value(),
               "load_video_frames: frame file {}: its name \"{}\" is not a frame index; frames must be named by "
               "their number (00000.jpg, 00001.jpg, ...)",
               (fs::path(video_path) / name).string(), stem);
    frames.push_back({*number, name});
  }
  // Ties are ordered by name only to find them; they are rejected below.
  std::sort(frames.begin(), frames.end(), [](const FrameFile& a, const FrameFile& b) {
    return a.number < b.number || (a.number == b.number && a.name < b.name);
  });
  std::vector<std::string> paths;
  for (size_t i = 0; i < frames.size(); ++i) {
    QATD_CHECK(i == 0 || !(frames[i].number == frames[i - 1].number),
               "load_video_frames: frame files {} and {} in {} have the same frame index {}", frames[i - 1].name,
               frames[i].name, video_path, frames[i].number.str());
    paths.push_back((fs::path(video_path) / frames[i].name).string());
  }
  return paths;
}

LoadedImage load_img_as_tensor(const std::string& img_path, int64_t image_size) {
  check_image_size(image_size, "load_img_as_tensor");
  LoadedImage loaded;
  Tensor pixels = read_resized_frame(img_path, image_size, &loaded.video_height, &loaded.video_width);
  int64_t plane = image_size * image_size;
  loaded.image = empty({3, image_size, image_size}, DType::f64);
  const uint8_t* source = pixels.data<uint8_t>();
  double* target = loaded.image.data<double>();
  for (int64_t i = 0; i < plane; ++i) {
    for (int64_t c = 0; c < 3; ++c) target[c * plane + i] = source[3 * i + c] / 255.0;
  }
  return loaded;
}

VideoFrames load_video_frame_files(const std::vector<std::string>& frame_paths, int64_t image_size,
                                   const VideoFramesOptions& options) {
  check_image_size(image_size, "load_video_frames");
  QATD_CHECK(!frame_paths.empty(), "load_video_frames: no frames to load");
  for (int c = 0; c < 3; ++c) {
    QATD_CHECK(options.img_std[c] != 0.0f, "load_video_frames: img_std[{}] is 0", c);
  }
  // Every output value is one of 256 per channel: float32(u / 255.0), minus the mean, over the std, each
  // rounded to float32 as the official float64 -> float32 copy and in-place float32 ops do.
  std::array<std::array<float, 256>, 3> normalized{};
  for (int c = 0; c < 3; ++c) {
    for (int u = 0; u < 256; ++u) {
      float scaled = static_cast<float>(u / 255.0);
      float centered = scaled - options.img_mean[c];
      normalized[c][u] = centered / options.img_std[c];
    }
  }

  int64_t count = static_cast<int64_t>(frame_paths.size());
  int64_t plane = image_size * image_size;
  VideoFrames video;
  video.images = empty({count, 3, image_size, image_size}, DType::f32);
  video.frame_paths = frame_paths;
  float* images = video.images.data<float>();
  std::vector<int64_t> heights(count), widths(count);
  // An exception must not leave an OpenMP region: each frame keeps its own, and the first is rethrown.
  std::vector<std::exception_ptr> failures(count);
  kernels::cpu::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t frame = begin; frame < end; ++frame) {
      try {
        Tensor pixels = read_resized_frame(frame_paths[frame], image_size, &heights[frame], &widths[frame]);
        const uint8_t* source = pixels.data<uint8_t>();
        float* target = images + frame * 3 * plane;
        for (int64_t i = 0; i < plane; ++i) {
          for (int64_t c = 0; c < 3; ++c) target[c * plane + i] = normalized[c][source[3 * i + c]];
        }
      } catch (...) {
        failures[frame] = std::current_exception();
      }
    }
  });
  for (int64_t frame = 0; frame < count; ++frame) {
    if (!failures[frame]) continue;
    try {
      std::rethrow_exception(failures[frame]);
    } catch (const std::exception& failure) {
      fail("load_video_frames: frame {} of {}: {}", frame, count, failure.what());
    }
  }
  for (int64_t frame = 1; frame < count; ++frame) {
    QATD_CHECK(heights[frame] == heights[0] && widths[frame] == widths[0],
               "load_video_frames: frame {} ({}) is {}x{} (W x H) but frame 0 ({}) is {}x{}: all frames of a video "
               "must have the same size",
               frame, frame_paths[frame], widths[frame], heights[frame], frame_paths[0], widths[0], heights[0]);
  }
  video.video_height = heights[0];
  video.video_width = widths[0];
  return video;
}

VideoFrames load_video_frames(const std::string& video_path, int64_t image_size, const VideoFramesOptions& options) {
  check_image_size(image_size, "load_video_frames");
  return load_video_frame_files(list_video_frames(video_path), image_size, options);
}

}  // namespace qatd::sam2
