// Teacher pseudo-labels for unlabeled images, with the SAM 2 micro model as the teacher.
#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/io/image.h"
#include "models/sam2/build_sam.h"
#include "tests/train/trainer_test_support.h"
#include "train/data/procedural_shapes.h"
#include "train/data/pseudo_label_source.h"

namespace qatd::train::data {

TEST_CASE("pseudo labels: the teacher's confident masks, at the image's size, made once", "[data]") {
  const std::string folder = fresh_dir("pseudo_labels");
  fs::create_directories(folder);
  ProceduralShapes shapes(2, 96, 3);
  io::write_png(folder + "/b.png", shapes.load(1).image);
  io::write_png(folder + "/a.png", shapes.load(0).image);
  std::shared_ptr<sam2::SAM2Base> teacher =
      sam2::build_sam2(micro_config_128(), testing::fixture_path("sam2_micro_a/model.safetensors"));
  teacher->eval();

  PseudoLabelSource source(folder, teacher, {.points_per_side = 3, .min_iou = 0.0, .max_overlap = 0.7});
  REQUIRE(source.size() == 2);
  CHECK(source.name(0) == folder + "/a.png");
  AnnotatedImage first = source.load(0);
  CHECK(first.image.shape() == Shape{96, 96, 3});
  REQUIRE(!first.masks.empty());
  CHECK(first.masks.size() <= 9);
  for (const Rle& mask : first.masks) {
    CHECK(mask.height == 96);
    CHECK(mask.width == 96);
    CHECK(rle_area(mask) > 0);
  }
  CHECK(source.load(0).masks == first.masks);

  // No mask of the (random-weight) micro model predicts an IoU above 1.
  PseudoLabelSource strict(folder, teacher, {.points_per_side = 2, .min_iou = 1.01, .max_overlap = 0.7});
  CHECK_THROWS_WITH(strict.load(1), Catch::Contains("b.png: the teacher found no object"));
  CHECK_THROWS_WITH(PseudoLabelSource(folder + "/missing", teacher), Catch::Contains("is not a folder"));
  fs::create_directories(folder + "/empty");
  CHECK_THROWS_WITH(PseudoLabelSource(folder + "/empty", teacher), Catch::Contains("holds no .jpg or .png image"));
}

}  // namespace qatd::train::data
