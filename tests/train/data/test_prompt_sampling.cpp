// Prompt samplers (train/data/prompt_sampling.h) against properties and hand-computed values: clicks
// land in the region they are drawn from and spread uniformly over it, boxes are the scanned bounding
// box within the jitter bounds, centre clicks sit where a by-hand distance argument puts them,
// correction clicks come from the error regions, mask prompts are the nearest-resized mask.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "train/data/prompt_sampling.h"

namespace qatd::train::data {

namespace {

// (height, width) uint8 mask, 1 where inside(x, y).
Tensor make_mask(int64_t height, int64_t width, const std::function<bool(int64_t x, int64_t y)>& inside) {
  Tensor mask = zeros({height, width}, DType::u8);
  uint8_t* pixels = mask.data<uint8_t>();
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) pixels[y * width + x] = inside(x, y) ? 1 : 0;
  }
  return mask;
}

bool at(const Tensor& mask, float x, float y) {
  REQUIRE(x == std::floor(x));
  REQUIRE(y == std::floor(y));
  REQUIRE(x >= 0.0f);
  REQUIRE(y >= 0.0f);
  REQUIRE(x < static_cast<float>(mask.size(1)));
  REQUIRE(y < static_cast<float>(mask.size(0)));
  return mask.data<uint8_t>()[static_cast<int64_t>(y) * mask.size(1) + static_cast<int64_t>(x)] != 0;
}

// An irregular blob: a disk plus a bar, minus a notch.
Tensor blob_mask() {
  return make_mask(40, 50, [](int64_t x, int64_t y) {
    const bool disk = (x - 20) * (x - 20) + (y - 18) * (y - 18) <= 100;
    const bool bar = x >= 28 && x <= 44 && y >= 25 && y <= 29;
    const bool notch = x >= 18 && x <= 22 && y <= 12;
    return (disk || bar) && !notch;
  });
}

}  // namespace

TEST_CASE("sample_clicks: positive clicks inside, negative outside, from every mask dtype", "[data]") {
  const Tensor mask = blob_mask();
  Generator generator(7);
  for (const Tensor& as : {mask, mask.to(DType::boolean), mask.to(DType::f32) * 4.0 - 2.0}) {
    for (const Click& click : sample_clicks(as, 300, true, generator)) {
      CHECK(click.label == 1);
      CHECK(at(mask, click.x, click.y));
    }
    for (const Click& click : sample_clicks(as, 300, false, generator)) {
      CHECK(click.label == 0);
      CHECK_FALSE(at(mask, click.x, click.y));
    }
  }
  CHECK(sample_clicks(mask, 0, true, generator).empty());
}

TEST_CASE("sample_clicks: uniform over the region (chi-square)", "[data]") {
  // A 4 x 5 rectangle of 20 pixels in a 10 x 10 mask; 20000 clicks give 1000 expected per pixel. With
  // 19 degrees of freedom the chi-square statistic exceeds 50 with probability about 1e-4.
  const Tensor mask = make_mask(10, 10, [](int64_t x, int64_t y) { return x >= 3 && x < 8 && y >= 2 && y < 6; });
  Generator generator(2024);
  std::vector<int64_t> counts(100, 0);
  const int64_t draws = 20000;
  for (const Click& click : sample_clicks(mask, draws, true, generator)) {
    ++counts[static_cast<int64_t>(click.y) * 10 + static_cast<int64_t>(click.x)];
  }
  double chi_square = 0.0;
  const double expected = static_cast<double>(draws) / 20.0;
  for (int64_t pixel = 0; pixel < 100; ++pixel) {
    if (mask.data<uint8_t>()[pixel]) {
      chi_square += (counts[pixel] - expected) * (counts[pixel] - expected) / expected;
    } else {
      CHECK(counts[pixel] == 0);
    }
  }
  INFO("chi-square " << chi_square);
  CHECK(chi_square < 50.0);
  // The background (80 pixels, 79 degrees of freedom: above 135 with probability about 1e-4).
  std::fill(counts.begin(), counts.end(), 0);
  const int64_t negative_draws = 40000;
  for (const Click& click : sample_clicks(mask, negative_draws, false, generator)) {
    ++counts[static_cast<int64_t>(click.y) * 10 + static_cast<int64_t>(click.x)];
  }
  chi_square = 0.0;
  const double negative_expected = static_cast<double>(negative_draws) / 80.0;
  for (int64_t pixel = 0; pixel < 100; ++pixel) {
    if (!mask.data<uint8_t>()[pixel]) {
      chi_square += (counts[pixel] - negative_expected) * (counts[pixel] - negative_expected) / negative_expected;
    }
  }
  INFO("background chi-square " << chi_square);
  CHECK(chi_square < 135.0);
}

TEST_CASE("sample_box: the scanned bounding box, jittered within its bounds", "[data]") {
  const Tensor mask = blob_mask();
  // The bounding box by a direct scan.
  int64_t x0 = 1000, y0 = 1000, x1 = -1, y1 = -1;
  for (int64_t y = 0; y < 40; ++y) {
    for (int64_t x = 0; x < 50; ++x) {
      if (!at(mask, static_cast<float>(x), static_cast<float>(y))) continue;
      x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
    }
  }
  REQUIRE(x0 == 10);
  REQUIRE(x1 == 44);
  Generator generator(3);
  const BoxPrompt exact = sample_box(mask, 0.0, 20.0, generator);
  CHECK(exact.x0 == x0);
  CHECK(exact.y0 == y0);
  CHECK(exact.x1 == x1);
  CHECK(exact.y1 == y1);

  // noise 0.1 of a 34-pixel width is 3.4; a max_noise of 2 binds it; the height's 0.1 * 18 = 1.8 does not.
  for (double max_noise : {20.0, 2.0}) {
    const double bound_x = std::min(0.1 * (x1 - x0), max_noise), bound_y = std::min(0.1 * (y1 - y0), max_noise);
    bool moved = false;
    for (int64_t trial = 0; trial < 300; ++trial) {
      const BoxPrompt box = sample_box(mask, 0.1, max_noise, generator);
      CHECK(std::abs(box.x0 - x0) <= bound_x + 1e-4);
      CHECK(std::abs(box.x1 - x1) <= bound_x + 1e-4);
      CHECK(std::abs(box.y0 - y0) <= bound_y + 1e-4);
      CHECK(std::abs(box.y1 - y1) <= bound_y + 1e-4);
      moved = moved || box.x0 != exact.x0;
    }
    CHECK(moved);
  }

  // A mask touching the corner: the jittered box stays in the image.
  const Tensor corner = make_mask(30, 30, [](int64_t x, int64_t y) { return x >= 20 && y < 10; });
  for (int64_t trial = 0; trial < 200; ++trial) {
    const BoxPrompt box = sample_box(corner, 0.5, 100.0, generator);
    CHECK(box.x0 >= 0.0f);
    CHECK(box.y0 >= 0.0f);
    CHECK(box.x1 <= 29.0f);
    CHECK(box.y1 <= 29.0f);
    CHECK(std::abs(box.x1 - 29.0f) <= 0.5f * 9.0f + 1e-4f);
  }
}

TEST_CASE("center_click: the pixel farthest from the boundary", "[data]") {
  // A 7 x 7 square (columns 5..11, rows 2..8): the distance to the background is 4 at its middle only.
  const Tensor square = make_mask(20, 20, [](int64_t x, int64_t y) { return x >= 5 && x <= 11 && y >= 2 && y <= 8; });
  CHECK(center_click(square) == Click{8.0f, 5.0f, 1});

  // A disk of radius 7 around (15, 15): the centre's nearest background pixel is at sqrt(50) (e.g.
  // offset (7, 1)); its neighbours are closer to one (from (16, 15), (21, 19) is at sqrt(41)).
  const Tensor disk =
      make_mask(31, 31, [](int64_t x, int64_t y) { return (x - 15) * (x - 15) + (y - 15) * (y - 15) <= 49; });
  CHECK(center_click(disk) == Click{15.0f, 15.0f, 1});

  // An L of two 7-wide arms (columns 2..8 for rows 2..30, rows 24..30 for columns 2..30) in a 33 x 33
  // mask. Both arms' centre lines are at distance 4 from the background. On the corner's diagonal
  // (5 + t, 27 - t) the distances are 4 + t to the left column 1 and to the bottom row 31, and
  // (4 - t) * sqrt(2) to the inner corner pixel (9, 23): min is largest, sqrt(18), at t = 1, pixel
  // (6, 26); its neighbours off the diagonal are at most sqrt(13) from the inner corner or 4 from the
  // outside.
  const Tensor l_shape = make_mask(33, 33, [](int64_t x, int64_t y) {
    return (x >= 2 && x <= 8 && y >= 2 && y <= 30) || (y >= 24 && y <= 30 && x >= 2 && x <= 30);
  });
  CHECK(center_click(l_shape) == Click{6.0f, 26.0f, 1});

  // The image border counts as background (the mask is padded): in a full 5 x 5 mask only the middle
  // is 3 from the border.
  CHECK(center_click(ones({5, 5}, DType::u8)) == Click{2.0f, 2.0f, 1});
  // Ties go to the first pixel in row-major order: a 2 x 4 block has eight pixels at distance 1.
  CHECK(center_click(make_mask(6, 8, [](int64_t x, int64_t y) { return x >= 2 && x < 6 && y >= 3 && y < 5; })) ==
        Click{2.0f, 3.0f, 1});
}

TEST_CASE("correction_click: from the error regions, the target, or the background", "[data]") {
  const Tensor target = make_mask(30, 40, [](int64_t x, int64_t y) { return x >= 5 && x < 25 && y >= 4 && y < 20; });
  Generator generator(11);

  // False negatives only: the prediction misses the target's right part.
  const Tensor misses = make_mask(30, 40, [](int64_t x, int64_t y) { return x >= 5 && x < 15 && y >= 4 && y < 20; });
  for (int64_t trial = 0; trial < 200; ++trial) {
    const Click click = correction_click(misses, target, 0.0, generator);
    CHECK(click.label == 1);
    CHECK(at(target, click.x, click.y));
    CHECK_FALSE(at(misses, click.x, click.y));
  }
  // False positives only: the prediction spills past the target.
  const Tensor spills = make_mask(30, 40, [](int64_t x, int64_t y) { return x >= 5 && x < 35 && y >= 4 && y < 20; });
  for (int64_t trial = 0; trial < 200; ++trial) {
    const Click click = correction_click(spills, target, 0.0, generator);
    CHECK(click.label == 0);
    CHECK(at(spills, click.x, click.y));
    CHECK_FALSE(at(target, click.x, click.y));
  }
  // A perfect prediction: a negative click on the background; with no background, a positive one.
  for (int64_t trial = 0; trial < 100; ++trial) {
    const Click click = correction_click(target, target, 0.0, generator);
    CHECK(click.label == 0);
    CHECK_FALSE(at(target, click.x, click.y));
  }
  const Tensor everything = ones({6, 7}, DType::u8);
  CHECK(correction_click(everything, everything, 0.0, generator).label == 1);
  // Always from the target: positive clicks inside it, even where the prediction is right.
  for (int64_t trial = 0; trial < 100; ++trial) {
    const Click click = correction_click(target, target, 1.0, generator);
    CHECK(click.label == 1);
    CHECK(at(target, click.x, click.y));
  }
  // Both errors: 160 false negatives (columns 15..24) against 160 false positives (columns 25..34),
  // so about half the clicks are positive (1000 clicks: a standard deviation of about 16).
  const Tensor shifted = make_mask(30, 40, [](int64_t x, int64_t y) { return x >= 15 && x < 35 && y >= 4 && y < 20; });
  int64_t positive = 0;
  for (int64_t trial = 0; trial < 1000; ++trial) {
    const Click click = correction_click(shifted, target, 0.0, generator);
    CHECK(click.label == (at(target, click.x, click.y) ? 1 : 0));
    CHECK(at(target, click.x, click.y) != at(shifted, click.x, click.y));
    positive += click.label;
  }
  CHECK(positive > 420);
  CHECK(positive < 580);
  // Float predictions are logits: > 0 is predicted.
  const Click from_logits = correction_click(misses.to(DType::f32) * 2.0 - 1.0, target, 0.0, generator);
  CHECK(from_logits.label == 1);

  const std::string message = testing::error_message([&] { correction_click(zeros({30, 41}), target, 0.1, generator); });
  CHECK(message.find("correction_click") != std::string::npos);
  CHECK(message.find("30 x 41") != std::string::npos);
  CHECK(!testing::error_message([&] { correction_click(target, target, 1.5, generator); }).empty());
}

TEST_CASE("mask_prompt: the nearest-resized mask as logits, with bounded boundary shifts", "[data]") {
  Generator generator(5);
  // 3 x 3 -> 7 x 7: output index i reads source floor((i + 0.5) * 3 / 7) = 0 0 1 1 1 2 2.
  const std::vector<int64_t> source = {0, 0, 1, 1, 1, 2, 2};
  const Tensor small = make_mask(3, 3, [](int64_t x, int64_t y) { return (x + 2 * y) % 3 == 0; });
  const Tensor up = mask_prompt(small, 7, 0, 20.0, generator);
  REQUIRE(up.shape() == Shape{7, 7});
  REQUIRE(up.dtype() == DType::f32);
  for (int64_t y = 0; y < 7; ++y) {
    for (int64_t x = 0; x < 7; ++x) {
      const bool inside = (source[x] + 2 * source[y]) % 3 == 0;
      CHECK(up.data<float>()[y * 7 + x] == (inside ? 20.0f : -20.0f));
    }
  }
  // 8 x 8 -> 4 x 4 reads the pixels (2i + 1): floor((i + 0.5) * 2).
  const Tensor checker = make_mask(8, 8, [](int64_t x, int64_t y) { return (x * 3 + y * 5) % 4 < 2; });
  const Tensor down = mask_prompt(checker, 4, 0, 10.0, generator);
  for (int64_t y = 0; y < 4; ++y) {
    for (int64_t x = 0; x < 4; ++x) {
      const bool inside = ((2 * x + 1) * 3 + (2 * y + 1) * 5) % 4 < 2;
      CHECK(down.data<float>()[y * 4 + x] == (inside ? 10.0f : -10.0f));
    }
  }

  // Shifted boundaries: every changed pixel is within 2 pixels of a pixel of the other side, the
  // prompt grows or shrinks but never both, and shifts of both signs occur.
  const Tensor disk =
      make_mask(32, 32, [](int64_t x, int64_t y) { return (x - 15) * (x - 15) + (y - 16) * (y - 16) <= 64; });
  bool grew = false, shrank = false;
  for (int64_t trial = 0; trial < 40; ++trial) {
    const Tensor prompt = mask_prompt(disk, 32, 2, 1.0, generator);
    bool added = false, removed = false;
    for (int64_t y = 0; y < 32; ++y) {
      for (int64_t x = 0; x < 32; ++x) {
        const bool was = at(disk, static_cast<float>(x), static_cast<float>(y));
        const bool is = prompt.data<float>()[y * 32 + x] > 0.0f;
        if (was == is) continue;
        added = added || is;
        removed = removed || was;
        bool near = false;
        for (int64_t dy = -2; dy <= 2; ++dy) {
          for (int64_t dx = -2; dx <= 2; ++dx) {
            if (dx * dx + dy * dy > 4 || y + dy < 0 || y + dy >= 32 || x + dx < 0 || x + dx >= 32) continue;
            near = near || at(disk, static_cast<float>(x + dx), static_cast<float>(y + dy)) != was;
          }
        }
        CHECK(near);
      }
    }
    CHECK_FALSE((added && removed));
    grew = grew || added;
    shrank = shrank || removed;
  }
  CHECK(grew);
  CHECK(shrank);
  // An erosion never removes the whole object.
  const Tensor dot = make_mask(16, 16, [](int64_t x, int64_t y) { return x == 4 && y == 9; });
  for (int64_t trial = 0; trial < 20; ++trial) CHECK(amax(mask_prompt(dot, 16, 3, 1.0, generator)).item() > 0.0);

  CHECK(testing::error_message([&] { mask_prompt(disk, 0, 0, 1.0, generator); }).find("size") != std::string::npos);
  CHECK(!testing::error_message([&] { mask_prompt(disk, 8, -1, 1.0, generator); }).empty());
}

TEST_CASE("prompt samplers: empty regions and bad masks throw naming the reason", "[data]") {
  Generator generator(1);
  const Tensor empty_mask = zeros({12, 13}, DType::u8);
  const Tensor full_mask = ones({12, 13}, DType::u8);
  CHECK(testing::error_message([&] { sample_clicks(empty_mask, 1, true, generator); }).find("no object pixels") !=
        std::string::npos);
  CHECK(testing::error_message([&] { sample_clicks(full_mask, 1, false, generator); }).find("no background pixels") !=
        std::string::npos);
  CHECK(testing::error_message([&] { sample_clicks(full_mask, -1, true, generator); }).find("count") != std::string::npos);
  CHECK(testing::error_message([&] { sample_box(empty_mask, 0.1, 20.0, generator); }).find("empty") != std::string::npos);
  CHECK(testing::error_message([&] { sample_box(full_mask, -0.1, 20.0, generator); }).find("noise") != std::string::npos);
  CHECK(testing::error_message([&] { center_click(empty_mask); }).find("empty") != std::string::npos);
  CHECK(testing::error_message([&] { center_click(zeros({2, 3, 4})); }).find("(H, W)") != std::string::npos);
  CHECK(testing::error_message([&] { center_click(zeros({3, 4}, DType::i64)); }).find("i64") != std::string::npos);
  CHECK(testing::error_message([&] { center_click(zeros({0, 4}, DType::u8)); }).find("empty") != std::string::npos);
}

TEST_CASE("prompt samplers: the same seed gives the same prompts", "[data]") {
  const Tensor mask = blob_mask();
  const Tensor prediction = make_mask(40, 50, [](int64_t x, int64_t y) { return x > 15 && y > 10; });
  auto draw = [&](uint64_t seed) {
    Generator generator(seed);
    std::vector<Click> clicks = sample_clicks(mask, 5, true, generator);
    const std::vector<Click> negative = sample_clicks(mask, 5, false, generator);
    clicks.insert(clicks.end(), negative.begin(), negative.end());
    for (int64_t k = 0; k < 5; ++k) clicks.push_back(correction_click(prediction, mask, 0.1, generator));
    const BoxPrompt box = sample_box(mask, 0.1, 20.0, generator);
    clicks.push_back({box.x0, box.y0, 2});
    clicks.push_back({box.x1, box.y1, 3});
    const std::vector<float> prompt = mask_prompt(mask, 16, 2, 5.0, generator).to_vector<float>();
    return std::make_pair(clicks, prompt);
  };
  CHECK(draw(42) == draw(42));
  CHECK(draw(42).first != draw(43).first);
}

}  // namespace qatd::train::data
