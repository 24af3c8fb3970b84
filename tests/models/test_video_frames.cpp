// Loading video frames as SAM2VideoPredictor.init_state does (sam2/utils/misc.py): the reference video's
// preprocessed frames (video_io.safetensors["video.images"], the official loader at image_size 256), the
// official loader on two frames at image_size 83 (tools/make_resize_fixtures.py), frame ordering, PNG
// frames, and every error. Tolerance: exact (the loader is a table lookup on PIL-exact pixels); the error
// is printed all the same.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/video_frames.h"
#include "tests/test_support.h"

namespace qatd {
namespace {

namespace fs = std::filesystem;

// A fresh, empty folder for one test.
fs::path fresh_folder(const std::string& name) {
  fs::path folder = fs::temp_directory_path() / "qatd_tests" / ("video_frames_" + name);
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

std::string read_bytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void copy_to(const std::string& source, const fs::path& target) {
  fs::copy_file(source, target, fs::copy_options::overwrite_existing);
}

// Prints and returns ||ours - reference|| / ||reference|| and the max abs difference.
double compare(const std::string& name, const Tensor& ours, const Tensor& reference) {
  REQUIRE(ours.shape() == reference.shape());
  std::vector<double> a = ours.to_vector<double>(), b = reference.to_vector<double>();
  double difference = 0, norm = 0, max_difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
    max_difference = std::max(max_difference, std::abs(a[i] - b[i]));
  }
  double relative = std::sqrt(difference) / std::sqrt(norm);
  std::printf("%-28s %-18s relative error %.3g, max abs difference %.3g\n", name.c_str(),
              shape_str(ours.shape()).c_str(), relative, max_difference);
  CHECK(max_difference == 0.0);
  return relative;
}

std::vector<std::string> names_of(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const std::string& path : paths) names.push_back(fs::path(path).filename().string());
  return names;
}

}  // namespace

TEST_CASE("the reference video's frames load exactly as the official loader's video.images", "[sam2][video]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::fixture_path("sam2_micro_a/video_io.safetensors"));
  sam2::VideoFrames video = sam2::load_video_frames(testing::fixture_path("sam2_micro_a/frames"), 256);
  CHECK(video.images.dtype() == DType::f32);
  compare("video.images", video.images, reference.get("video.images"));
  CHECK(video.video_height == 256);
  CHECK(video.video_width == 256);
  CHECK(names_of(video.frame_paths) == std::vector<std::string>{"00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg"});
}

TEST_CASE("resized frames match the official loader at another image size", "[sam2][video]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::fixture_path("images/resize/official_loader.safetensors"));
  fs::path folder = fresh_folder("official_83");
  copy_to(testing::fixture_path("sam2_micro_a/frames/00000.jpg"), folder / "7.jpg");
  copy_to(testing::fixture_path("sam2_micro_a/frames/00001.jpg"), folder / "10.jpg");
  sam2::VideoFrames video = sam2::load_video_frames(folder.string(), 83);
  CHECK(names_of(video.frame_paths) == std::vector<std::string>{"7.jpg", "10.jpg"});
  compare("official loader, size 83", video.images, reference.get("images"));

  // _load_img_as_tensor: the same pixels / 255 in float64, before normalization.
  sam2::LoadedImage loaded = sam2::load_img_as_tensor((folder / "10.jpg").string(), 83);
  CHECK(loaded.image.dtype() == DType::f64);
  CHECK(loaded.video_height == 256);
  CHECK(loaded.video_width == 256);
  Tensor mean = from_vector<float>({0.485f, 0.456f, 0.406f}, {3, 1, 1});
  Tensor std = from_vector<float>({0.229f, 0.224f, 0.225f}, {3, 1, 1});
  Tensor normalized = div(sub(loaded.image.to(DType::f32), mean), std);
  compare("_load_img_as_tensor", normalized, reference.get("images").select(0, 1));
}

TEST_CASE("frame files are ordered by their integer name and other files are ignored", "[sam2][video]") {
  fs::path folder = fresh_folder("order");
  std::string jpeg = testing::fixture_path("sam2_micro_a/frames/00000.jpg");
  for (const char* name : {"10.jpg", "2.jpeg", "0.JPG", "-1.JPEG", "1_1.jpg", " 3.jpg", "+4.jpg"}) {
    copy_to(jpeg, folder / name);
  }
  write_bytes(folder / "notes.txt", "not a frame");
  write_bytes(folder / "mask.png", "PNG files next to JPEG frames are ignored");
  write_bytes(folder / "5.Jpg", "extensions are matched exactly, as the official loader does");
  write_bytes(folder / ".jpg", "no extension, as os.path.splitext says");
  std::vector<std::string> expected = {"-1.JPEG", "0.JPG", "2.jpeg", " 3.jpg", "+4.jpg", "10.jpg", "1_1.jpg"};
  CHECK(names_of(sam2::list_video_frames(folder.string())) == expected);
}

TEST_CASE("a folder of PNG frames loads like the JPEG frames it was decoded from", "[sam2][video]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::fixture_path("sam2_micro_a/video_io.safetensors"));
  fs::path folder = fresh_folder("png");
  for (int frame = 0; frame < 4; ++frame) {
    copy_to(testing::fixture_path("images/frame_0000" + std::to_string(frame) + ".png"), folder / (std::to_string(frame) + ".png"));
  }
  sam2::VideoFrames video = sam2::load_video_frames(folder.string(), 256);
  compare("video.images from PNG frames", video.images, reference.get("video.images"));

  // A non-square video keeps its size; the frames are squashed to S x S, as the official loader does.
  fs::path wide = fresh_folder("png_wide");
  copy_to(testing::fixture_path("sam2_micro_a/image.png"), wide / "0.png");
  copy_to(testing::fixture_path("sam2_micro_a/image.png"), wide / "1.png");
  sam2::VideoFrames squashed = sam2::load_video_frames(wide.string(), 64);
  CHECK(squashed.video_height == 480);
  CHECK(squashed.video_width == 720);
  CHECK(squashed.images.shape() == Shape{2, 3, 64, 64});
}

TEST_CASE("load_video_frames names the folder or frame that is wrong", "[sam2][video]") {
  std::string jpeg = testing::fixture_path("sam2_micro_a/frames/00000.jpg");
  fs::path missing = fs::temp_directory_path() / "qatd_tests" / "video_frames_no_such_folder";
  fs::remove_all(missing);
  CHECK_THROWS_WITH(sam2::load_video_frames(missing.string(), 64),
                    Catch::Contains("no such directory") && Catch::Contains(missing.string()));
  CHECK_THROWS_WITH(sam2::load_video_frames(jpeg, 64),
                    Catch::Contains("is not a directory") && Catch::Contains("00000.jpg"));

  fs::path empty = fresh_folder("empty");
  write_bytes(empty / "readme.txt", "no frames here");
  CHECK_THROWS_WITH(sam2::load_video_frames(empty.string(), 64),
                    Catch::Contains("no images found") && Catch::Contains(empty.string()));

  fs::path named = fresh_folder("named");
  copy_to(jpeg, named / "0.jpg");
  copy_to(jpeg, named / "frame_1.jpg");
  CHECK_THROWS_WITH(sam2::load_video_frames(named.string(), 64),
                    Catch::Contains("frame_1.jpg") && Catch::Contains("not a frame index"));
  for (const char* bad : {"1__0.jpg", "_1.jpg", "1_.jpg", "1.5.jpg", "0x10.jpg", "-.jpg"}) {
    fs::path folder = fresh_folder("bad_name");
    copy_to(jpeg, folder / bad);
    CHECK_THROWS_WITH(sam2::list_video_frames(folder.string()), Catch::Contains(bad));
  }

  fs::path duplicated = fresh_folder("duplicated");
  copy_to(jpeg, duplicated / "1.jpg");
  copy_to(jpeg, duplicated / "001.jpeg");
  CHECK_THROWS_WITH(sam2::load_video_frames(duplicated.string(), 64),
                    Catch::Contains("001.jpeg") && Catch::Contains("1.jpg") && Catch::Contains("same frame index 1"));

  std::string bytes = read_bytes(jpeg);
  fs::path truncated = fresh_folder("truncated");
  copy_to(jpeg, truncated / "0.jpg");
  write_bytes(truncated / "1.jpg", bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH(sam2::load_video_frames(truncated.string(), 64),
                    Catch::Contains("frame 1 of 2") && Catch::Contains("1.jpg") && Catch::Contains("truncated"));

  fs::path not_image = fresh_folder("not_image");
  copy_to(jpeg, not_image / "0.jpg");
  write_bytes(not_image / "1.jpg", "plain text, not a JPEG");
  CHECK_THROWS_WITH(sam2::load_video_frames(not_image.string(), 64),
                    Catch::Contains("frame 1 of 2") && Catch::Contains("1.jpg"));

  fs::path mixed = fresh_folder("mixed");
  copy_to(testing::fixture_path("images/frame_00000.png"), mixed / "0.png");
  copy_to(testing::fixture_path("images/frame_00001.png"), mixed / "1.png");
  copy_to(testing::fixture_path("sam2_micro_a/image.png"), mixed / "2.png");
  CHECK_THROWS_WITH(sam2::load_video_frames(mixed.string(), 64),
                    Catch::Contains("frame 2") && Catch::Contains("2.png") && Catch::Contains("720x480") &&
                        Catch::Contains("256x256") && Catch::Contains("same size"));

  CHECK_THROWS_WITH(sam2::load_video_frames(testing::fixture_path("sam2_micro_a/frames"), 0),
                    Catch::Contains("image_size must be positive"));
  CHECK_THROWS_WITH(sam2::load_video_frame_files({}, 64), Catch::Contains("no frames"));
  CHECK_THROWS_WITH(sam2::load_img_as_tensor(missing.string() + "/0.jpg", 64),
                    Catch::Contains("video_frames_no_such_folder/0.jpg"));
}

}  // namespace qatd
