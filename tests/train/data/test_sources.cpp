// The annotated-image formats: SA-1B, PNG mask folders (DAVIS style) and SA-V, on the samples of
// tests/fixtures/data/{sa1b,davis,sav} (tools/make_data_fixtures.py). Every expected mask there is the list
// of its pixels from the numpy array the script encoded with pycocotools or wrote with PIL; the broken/
// subfolders hold the files each error test reads.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "tests/test_support.h"
#include "train/data/coco_json.h"
#include "train/data/coco_rle.h"
#include "train/data/mask_folder_source.h"
#include "train/data/sa1b_source.h"
#include "train/data/sav_source.h"

namespace qatd::train::data {

namespace {

using Catch::Contains;

std::string fixture(const std::string& relative) { return testing::fixture_path("data/" + relative); }

nlohmann::json expected_of(const std::string& format) {
  std::ifstream file(fixture(format + "/expected.json"));
  REQUIRE(file.good());
  return nlohmann::json::parse(file);
}

// The row-major indices of the pixels inside, as the fixtures list them.
std::vector<int64_t> set_indices(const Rle& rle) {
  Tensor mask = rle_decode(rle).contiguous();
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < mask.numel(); ++i) {
    if (mask.data<bool>()[i]) indices.push_back(i);
  }
  return indices;
}

bool ends_with_path(const std::string& name, const std::string& relative) {
  std::string generic = std::filesystem::path(name).generic_string();
  return generic.size() >= relative.size() &&
         generic.compare(generic.size() - relative.size(), relative.size(), relative) == 0;
}

void check_item(const AnnotatedImage& loaded, const nlohmann::json& expected) {
  INFO(loaded.name);
  CHECK(ends_with_path(loaded.name, expected["name"].get<std::string>()));
  CHECK(loaded.image.dtype() == DType::u8);
  CHECK(loaded.image.shape() == Shape{expected["height"].get<int64_t>(), expected["width"].get<int64_t>(), 3});
}

bool same_pixels(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor dense_a = a.contiguous(), dense_b = b.contiguous();
  return std::memcmp(dense_a.raw_data(), dense_b.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) ==
         0;
}

// Four threads load the same item at once; each must get what a lone load gets.
void check_concurrent_loads(const ImageSource& source, int64_t index) {
  AnnotatedImage alone = source.load(index);
  std::vector<AnnotatedImage> results(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      try {
        results[t] = source.load(index);
      } catch (const std::exception& error) {
        errors[t] = error.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < results.size(); ++t) {
    INFO("thread " << t << ": " << errors[t]);
    REQUIRE(errors[t].empty());
    CHECK(results[t].name == alone.name);
    CHECK(same_pixels(results[t].image, alone.image));
    CHECK(results[t].masks == alone.masks);
  }
}

}  // namespace

TEST_CASE("sa1b: items, sizes and masks match pycocotools' encodings", "[data]") {
  nlohmann::json expected = expected_of("sa1b");
  Sa1bSource source(fixture("sa1b"));
  REQUIRE(source.size() == 2);
  CHECK(source.images_without_json() == expected["images_without_json"].get<int64_t>());
  const nlohmann::json& kept = expected["filters"][0]["kept"];  // the default options
  for (int64_t i = 0; i < source.size(); ++i) {
    const nlohmann::json& item = expected["items"][i];
    CHECK(ends_with_path(source.name(i), item["name"].get<std::string>()));
    AnnotatedImage loaded = source.load(i);
    check_item(loaded, item);
    const nlohmann::json& indices = kept[item["name"].get<std::string>()];
    REQUIRE(loaded.masks.size() == indices.size());
    for (size_t m = 0; m < indices.size(); ++m) {
      CHECK(set_indices(loaded.masks[m]) == item["annotations"][indices[m].get<size_t>()].get<std::vector<int64_t>>());
    }
  }
}

TEST_CASE("sa1b: the area and count filters keep the masks the script chose", "[data]") {
  nlohmann::json expected = expected_of("sa1b");
  for (const nlohmann::json& filter : expected["filters"]) {
    Sa1bOptions options;
    options.min_area_fraction = filter["min_area_fraction"].get<double>();
    if (!filter["max_masks"].is_null()) options.max_masks = filter["max_masks"].get<int64_t>();
    INFO("min_area_fraction " << options.min_area_fraction << ", max_masks " << options.max_masks.value_or(-1));
    Sa1bSource source(fixture("sa1b"), options);
    for (int64_t i = 0; i < source.size(); ++i) {
      const nlohmann::json& item = expected["items"][i];
      AnnotatedImage loaded = source.load(i);
      std::vector<std::vector<int64_t>> masks, wanted;
      for (const Rle& rle : loaded.masks) masks.push_back(set_indices(rle));
      for (const nlohmann::json& index : filter["kept"][item["name"].get<std::string>()]) {
        wanted.push_back(item["annotations"][index.get<size_t>()].get<std::vector<int64_t>>());
      }
      CHECK(masks == wanted);
    }
  }
}

TEST_CASE("sa1b: bad folders, options and files throw naming them", "[data]") {
  REQUIRE_THROWS_WITH(Sa1bSource(fixture("sa1b/nonexistent")), Contains("nonexistent") && Contains("does not exist"));
  REQUIRE_THROWS_WITH(Sa1bSource(fixture("davis/JPEGImages/bear")), Contains("bear") && Contains("3 images"));
  REQUIRE_THROWS_AS(Sa1bSource(fixture("sa1b"), Sa1bOptions{1.5, {}}), Error);
  REQUIRE_THROWS_AS(Sa1bSource(fixture("sa1b"), Sa1bOptions{0.0, 0}), Error);

  Sa1bSource broken(fixture("sa1b/broken"));
  REQUIRE(broken.size() == 4);
  REQUIRE_THROWS_WITH(broken.load(0), Contains("sa_bad_counts.json: annotations[0].segmentation.counts") &&
                                          Contains("not part of a COCO RLE string"));
  REQUIRE_THROWS_WITH(broken.load(1), Contains("sa_malformed.json") && Contains("not valid JSON"));
  REQUIRE_THROWS_WITH(broken.load(2), Contains("sa_rle_size.json: annotations[1].segmentation") &&
                                          Contains("20 x 32") && Contains("sa_rle_size.jpg is 24 x 32"));
  REQUIRE_THROWS_WITH(broken.load(3), Contains("sa_wrong_image.json: image.width is 40") && Contains("24 x 32"));
  REQUIRE_THROWS_WITH(broken.load(4), Contains("out of range"));
}

TEST_CASE("mask folder: palette, 8-bit and 16-bit label maps give the instances numpy found", "[data]") {
  nlohmann::json expected = expected_of("davis");
  MaskFolderSource source(fixture("davis/JPEGImages"), fixture("davis/Annotations"));
  REQUIRE(source.size() == 4);
  CHECK(source.images_without_mask() == expected["images_without_mask"].get<int64_t>());
  CHECK(source.masks_without_image() == expected["masks_without_image"].get<int64_t>());
  MaskFolderSource ignoring(fixture("davis/JPEGImages"), fixture("davis/Annotations"), MaskFolderOptions{{255}});
  for (int64_t i = 0; i < source.size(); ++i) {
    const nlohmann::json& item = expected["items"][i];
    CHECK(ends_with_path(source.name(i), item["name"].get<std::string>()));
    for (auto [which, key] : {std::pair{&source, "instances"}, std::pair{&ignoring, "instances_ignoring_255"}}) {
      INFO(key);
      AnnotatedImage loaded = which->load(i);
      check_item(loaded, item);
      REQUIRE(loaded.masks.size() == item[key].size());
      for (size_t m = 0; m < loaded.masks.size(); ++m) {
        CHECK(set_indices(loaded.masks[m]) == item[key][m]["indices"].get<std::vector<int64_t>>());
      }
    }
  }
}

TEST_CASE("mask folder: instances_from_labels splits a hand-made label map", "[data]") {
  // Column-major scan of [[5, 0], [5, 9]]: 5, 5, 0, 9.
  Tensor labels = zeros({2, 2}, DType::i32);
  labels.data<int32_t>()[0] = 5;
  labels.data<int32_t>()[2] = 5;
  labels.data<int32_t>()[3] = 9;
  std::vector<Rle> instances = instances_from_labels(labels, {});
  REQUIRE(instances.size() == 2);
  CHECK(instances[0] == Rle{2, 2, {0, 2, 2}});
  CHECK(instances[1] == Rle{2, 2, {3, 1}});
  CHECK(instances_from_labels(labels, {5, 9}).empty());
  REQUIRE_THROWS_AS(instances_from_labels(zeros({2, 2}, DType::f32), {}), Error);
}

TEST_CASE("mask folder: bad roots and files throw naming them", "[data]") {
  REQUIRE_THROWS_WITH(MaskFolderSource(fixture("davis/nonexistent"), fixture("davis/Annotations")),
                      Contains("nonexistent"));
  REQUIRE_THROWS_WITH(MaskFolderSource(fixture("davis/JPEGImages"), fixture("davis/nonexistent")),
                      Contains("nonexistent"));
  REQUIRE_THROWS_WITH(MaskFolderSource(fixture("davis/JPEGImages"), fixture("sav")), Contains("no image"));

  MaskFolderSource broken(fixture("davis/broken/JPEGImages"), fixture("davis/broken/Annotations"));
  REQUIRE(broken.size() == 2);
  REQUIRE_THROWS_WITH(broken.load(0),
                      Contains("v/00000.png") && Contains("24 x 30") && Contains("v/00000.jpg") && Contains("24 x 32"));
  REQUIRE_THROWS_WITH(broken.load(1), Contains("v/00001.png"));
}

TEST_CASE("sav: annotated frames with their non-null objects, in video and frame order", "[data]") {
  nlohmann::json expected = expected_of("sav");
  SavSource source(fixture("sav/JPEGImages_24fps"), fixture("sav/annotations"));
  CHECK(source.videos() == expected["videos"].get<int64_t>());
  REQUIRE(source.size() == static_cast<int64_t>(expected["items"].size()));
  REQUIRE(source.size() == 4);
  for (int64_t i = 0; i < source.size(); ++i) {
    const nlohmann::json& item = expected["items"][i];
    CHECK(ends_with_path(source.name(i), item["name"].get<std::string>()));
    AnnotatedImage loaded = source.load(i);
    check_item(loaded, item);
    REQUIRE(loaded.masks.size() == item["masks"].size());
    for (size_t m = 0; m < loaded.masks.size(); ++m) {
      CHECK(set_indices(loaded.masks[m]) == item["masks"][m].get<std::vector<int64_t>>());
    }
  }
  // Annotated frame k is frame file k * ann_every.
  SavSource every_second(fixture("sav/JPEGImages_24fps"), fixture("sav/annotations"), SavOptions{2});
  CHECK(ends_with_path(every_second.name(2), "sav_000001/00006.jpg"));
}

TEST_CASE("sav: bad folders and files throw naming them", "[data]") {
  const std::string frames = fixture("sav/broken/frames");
  REQUIRE_THROWS_WITH(SavSource(fixture("sav/nonexistent"), fixture("sav/annotations")), Contains("nonexistent"));
  REQUIRE_THROWS_WITH(SavSource(frames, fixture("sav/JPEGImages_24fps")), Contains("no annotated object"));
  REQUIRE_THROWS_WITH(SavSource(frames, fixture("sav/broken/malformed")),
                      Contains("sav_bad_manual.json") && Contains("not valid JSON"));
  REQUIRE_THROWS_WITH(SavSource(frames, fixture("sav/broken/wrong_id")),
                      Contains("sav_renamed_manual.json") && Contains("sav_original"));
  REQUIRE_THROWS_AS(SavSource(frames, fixture("sav/annotations"), SavOptions{0}), Error);

  SavSource broken(frames, fixture("sav/broken/annotations"));
  REQUIRE(broken.size() == 3);  // sav_missing frames 0 and 4, sav_size frame 0
  CHECK(broken.load(0).masks.size() == 1);
  REQUIRE_THROWS_WITH(broken.load(1), Contains("sav_missing/00004.jpg") && Contains("does not exist"));
  REQUIRE_THROWS_WITH(broken.load(2),
                      Contains("sav_size_manual.json: masklet[0][1]") && Contains("24 x 24") && Contains("24 x 32"));
}

TEST_CASE("coco json: RLE objects with either form of counts, and their errors", "[data]") {
  using nlohmann::json;
  // pycocotools: encode of a 4 x 5 mask whose only pixel is the last one gives "c01", runs [19, 1].
  CHECK(rle_from_json(json::parse(R"({"size": [4, 5], "counts": "c01"})"), "x") == Rle{4, 5, {19, 1}});
  CHECK(rle_from_json(json::parse(R"({"size": [4.0, 5], "counts": [19, 1]})"), "x") == Rle{4, 5, {19, 1}});
  const std::string what = "v_manual.json: masklet[2][1]";
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4, 5], "counts": [19, 2]})"), what),
                      Contains(what + ".counts") && Contains("sum to 21"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4, 5], "counts": [19, -1, 2]})"), what),
                      Contains(what + ".counts[1]"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4, 5], "counts": [19.5, 1]})"), what),
                      Contains(what + ".counts[0]") && Contains("integer"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4], "counts": "c01"})"), what), Contains(what + ".size"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4, 5]})"), what), Contains(what) && Contains("counts"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4, 5], "counts": 3})"), what),
                      Contains(what + ".counts") && Contains("number"));
  REQUIRE_THROWS_WITH(rle_from_json(json::parse(R"({"size": [4000000000, 5000000000], "counts": []})"), what),
                      Contains(what + ".size") && Contains("larger than any image"));
}

TEST_CASE("sources: concurrent loads of one item agree", "[data]") {
  Sa1bSource sa1b(fixture("sa1b"));
  MaskFolderSource davis(fixture("davis/JPEGImages"), fixture("davis/Annotations"));
  SavSource sav(fixture("sav/JPEGImages_24fps"), fixture("sav/annotations"));
  check_concurrent_loads(sa1b, 0);
  check_concurrent_loads(davis, 3);
  check_concurrent_loads(sav, 1);
}

}  // namespace qatd::train::data
