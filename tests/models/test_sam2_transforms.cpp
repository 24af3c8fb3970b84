// SAM2Transforms and the SAM2ImagePredictor steps around it, against the official code's tensors in
// the sam2_micro_a fixture (image size 256, original image 720x480).
#include <cmath>
#include <cstdio>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "engine/io/image.h"
#include "models/sam2/transforms.h"

namespace qatd::sam2 {
namespace {

double compare(const std::string& name, const Tensor& ours, const Tensor& reference) {
  REQUIRE(ours.shape() == reference.shape());
  return testing::report_difference(name, ours, reference);
}

const ImageHW kOrigHW = {480, 720};

}  // namespace

TEST_CASE("SAM2Transforms turns the reference image into the official model input", "[sam2]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::micro_fixture_path("image_io.safetensors"));
  SAM2Transforms transforms({.resolution = 256});
  Tensor image = io::read_image(testing::micro_fixture_path("image.png"));
  Tensor input = transforms.transform_image(image);
  CHECK(input.dtype() == DType::f32);
  // Tolerance 1e-6: ToTensor, antialiased bilinear and Normalize in float32 as PyTorch orders them.
  CHECK(compare("image.input", input, reference.get("image.input")) <= 1e-6);

  Tensor batch = transforms.forward_batch({image, image});
  CHECK(batch.shape() == Shape{2, 3, 256, 256});
  CHECK(compare("forward_batch[1]", batch.narrow(0, 1, 1), input) == 0.0);
}

TEST_CASE("an image already at the model size is only scaled and normalized", "[sam2]") {
  SAM2Transforms transforms({.resolution = 4});
  Tensor image = arange(48).to(DType::u8).reshape({4, 4, 3});
  Tensor input = transforms.transform_image(image);
  std::vector<float> values = input.to_vector<float>();
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 16; ++p) {
      float expected = (static_cast<float>(3 * p + c) / 255.0f - mean[c]) / std[c];
      CHECK(values[c * 16 + p] == expected);
    }
  }
}

TEST_CASE("prompts are mapped to the model input space as SAM2ImagePredictor does", "[sam2]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::micro_fixture_path("image_io.safetensors"));
  SAM2Transforms transforms({.resolution = 256});
  Tensor points = reference.get("prompt.points");
  Tensor transformed = transforms.transform_coords(points, true, kOrigHW);
  // Tolerance 0: one float32 division and one multiplication, as the official code does.
  CHECK(compare("prompt.points_transformed", transformed.unsqueeze(0), reference.get("prompt.points_transformed")) ==
        0.0);

  PreparedPrompts from_points =
      prepare_prompts(transforms, points, reference.get("prompt.labels"), Tensor(), kOrigHW);
  CHECK(compare("prepared points", from_points.point_coords, reference.get("prompt.points_transformed")) == 0.0);
  CHECK(from_points.point_labels.dtype() == DType::i32);
  CHECK(from_points.point_labels.to_vector<int64_t>() == std::vector<int64_t>{1, 0});

  // The box prompt of predict.box: the box corners (labels 2, 3) before the first point.
  Tensor box = reference.get("prompt.box");
  PreparedPrompts with_box = prepare_prompts(transforms, points.narrow(0, 0, 1),
                                             reference.get("prompt.labels").narrow(0, 0, 1), box, kOrigHW);
  CHECK(with_box.point_coords.shape() == Shape{1, 3, 2});
  CHECK(with_box.point_labels.to_vector<int64_t>() == std::vector<int64_t>{2, 3, 1});
  std::vector<float> corners = box.to_vector<float>();
  std::vector<float> expected = {corners[0] / 720.0f * 256.0f, corners[1] / 480.0f * 256.0f,
                                 corners[2] / 720.0f * 256.0f, corners[3] / 480.0f * 256.0f};
  std::vector<float> first_point = transformed.narrow(0, 0, 1).to_vector<float>();
  expected.insert(expected.end(), first_point.begin(), first_point.end());
  CHECK(with_box.point_coords.to_vector<float>() == expected);

  PreparedPrompts box_only = prepare_prompts(transforms, Tensor(), Tensor(), box, kOrigHW);
  CHECK(box_only.point_coords.shape() == Shape{1, 2, 2});
  CHECK(box_only.point_labels.to_vector<int64_t>() == std::vector<int64_t>{2, 3});

  Tensor normalized = from_vector(std::vector<float>{0.25f, 0.5f}, {1, 2});
  CHECK(transforms.transform_coords(normalized).to_vector<float>() == std::vector<float>{64.0f, 128.0f});
}

TEST_CASE("prompts outside the image are rejected with the prompt and the image size", "[sam2]") {
  SAM2Transforms transforms({.resolution = 256});
  Tensor inside_edge = from_vector(std::vector<float>{0.0f, 0.0f, 720.0f, 480.0f}, {2, 2});
  CHECK_NOTHROW(transforms.transform_coords(inside_edge, true, kOrigHW));
  Tensor outside = from_vector(std::vector<float>{10.0f, 10.0f, 800.0f, 20.0f}, {2, 2});
  CHECK_THROWS_WITH(transforms.transform_coords(outside, true, kOrigHW),
                    Catch::Contains("point 1 (800, 20)") && Catch::Contains("720x480"));
  Tensor negative = from_vector(std::vector<float>{-1.0f, 5.0f}, {1, 2});
  CHECK_THROWS_WITH(transforms.transform_coords(negative, true, kOrigHW), Catch::Contains("point 0 (-1, 5)"));
  Tensor not_a_number = from_vector(std::vector<float>{std::nanf(""), 5.0f}, {1, 2});
  CHECK_THROWS_WITH(transforms.transform_coords(not_a_number, true, kOrigHW), Catch::Contains("point 0"));
  Tensor box = from_vector(std::vector<float>{10.0f, 10.0f, 100.0f, 500.0f});
  CHECK_THROWS_WITH(transforms.transform_boxes(box, true, kOrigHW),
                    Catch::Contains("box 0 (10, 10, 100, 500)") && Catch::Contains("720x480"));
  CHECK_THROWS_WITH(prepare_prompts(transforms, Tensor(), Tensor(), box, kOrigHW), Catch::Contains("box 0"));
  CHECK_THROWS_WITH(transforms.transform_coords(from_vector(std::vector<float>{1.5f, 0.5f}, {1, 2})),
                    Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(transforms.transform_coords(outside, true), Catch::Contains("orig_hw"));
  CHECK_THROWS_WITH(transforms.transform_coords(zeros({2, 3}), true, kOrigHW), Catch::Contains("(..., 2)"));

  Tensor points = from_vector(std::vector<float>{1.0f, 2.0f}, {1, 2});
  CHECK_THROWS_WITH(prepare_prompts(transforms, points, Tensor(), Tensor(), kOrigHW), Catch::Contains("labels"));
  CHECK_THROWS_WITH(prepare_prompts(transforms, points, zeros({2}, DType::i32), Tensor(), kOrigHW),
                    Catch::Contains("do not match"));
  CHECK_THROWS_WITH(prepare_prompts(transforms, Tensor(), Tensor(), Tensor(), kOrigHW), Catch::Contains("neither"));
}

TEST_CASE("postprocess_masks upsamples the decoder's logits to the original image", "[sam2]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::micro_fixture_path("image_io.safetensors"));
  SAM2Transforms transforms({.resolution = 256});
  Tensor masks = transforms.postprocess_masks(reference.get("decoder.low_res_masks"), kOrigHW);
  // Tolerance 1e-6: the same bilinear interpolation of the same logits.
  CHECK(compare("predict.points.masks", masks.squeeze(0), reference.get("predict.points.masks")) <= 1e-6);

  CHECK_THROWS_WITH(transforms.postprocess_masks(zeros({3, 64, 64}), kOrigHW), Catch::Contains("(B, C, h, w)"));
  CHECK_THROWS_WITH(transforms.transform_image(zeros({8, 8, 3})), Catch::Contains("uint8"));
}

}  // namespace qatd::sam2
