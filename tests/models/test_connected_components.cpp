// get_connected_components (the CPU version of SAM 2's CUDA kernel), fill_holes_in_mask_scores and the
// hole / sprinkle cleanup of SAM2Transforms.postprocess_masks, on hand-made masks. Exact comparisons.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "models/sam2/connected_components.h"
#include "models/sam2/transforms.h"

namespace qatd::sam2 {
namespace {

// Images drawn with '#' for foreground, one string per row: (N, 1, H, W) uint8.
Tensor draw(const std::vector<std::vector<std::string>>& images) {
  const auto height = static_cast<int64_t>(images[0].size()), width = static_cast<int64_t>(images[0][0].size());
  std::vector<uint8_t> pixels;
  for (const auto& rows : images) {
    for (const std::string& row : rows) {
      for (char c : row) pixels.push_back(c == '#' ? 1 : 0);
    }
  }
  return from_vector(pixels, {static_cast<int64_t>(images.size()), 1, height, width});
}

// Scores drawn with '#' = 2, '.' = -1 and '0' = 0 (background too: holes are scores <= 0).
Tensor draw_scores(const std::vector<std::string>& rows) {
  std::vector<float> scores;
  for (const std::string& row : rows) {
    for (char c : row) scores.push_back(c == '#' ? 2.0f : (c == '0' ? 0.0f : -1.0f));
  }
  return from_vector(scores, {1, 1, static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

int32_t at(const Tensor& x, int64_t n, int64_t r, int64_t c) {
  return static_cast<int32_t>(x.select(0, n).select(0, 0).select(0, r).select(0, c).to(DType::i64).item());
}

}  // namespace

TEST_CASE("get_connected_components: 8-connected areas and the CUDA kernel's labels", "[sam2]") {
  Tensor mask = draw({{"#.......",  //
                       ".#....##",  //
                       "..#...#.",  //
                       "........",  //
                       "###.....",  //
                       "#.#...#.",  //
                       "###..#..",  //
                       "......#."},
                      {".....#..",  //
                       "...##...",  //
                       "........",  //
                       "#..#....",  //
                       "#..#....",  //
                       "#..#....",  //
                       "####....",  //
                       "........"}});
  ConnectedComponents components = get_connected_components(mask);
  REQUIRE(components.labels.shape() == mask.shape());
  REQUIRE(components.labels.dtype() == DType::i32);
  REQUIRE(components.counts.dtype() == DType::i32);

  // Label = 1 + the smallest linear index of the top-left pixels of the component's 2x2 blocks.
  struct Component {
    int64_t n;
    std::vector<std::pair<int64_t, int64_t>> pixels;
    int32_t label;
  };
  const std::vector<Component> expected = {
      {0, {{0, 0}, {1, 1}, {2, 2}}, 1},                                          // a diagonal
      {0, {{1, 6}, {1, 7}, {2, 6}}, 1 + 6},                                      // on the right border
      {0, {{4, 0}, {4, 1}, {4, 2}, {5, 0}, {5, 2}, {6, 0}, {6, 1}, {6, 2}}, 1 + 32},  // a ring
      {0, {{5, 6}, {6, 5}, {7, 6}}, 1 + 38},  // a zigzag of diagonals on the bottom border
      // The first pixel in raster order, (0, 5), is in block 4, but (1, 3) is in block 2.
      {1, {{0, 5}, {1, 4}, {1, 3}}, 1 + 2},
      // A U, whose arms meet only at the bottom row.
      {1, {{3, 0}, {4, 0}, {5, 0}, {6, 0}, {6, 1}, {6, 2}, {6, 3}, {5, 3}, {4, 3}, {3, 3}}, 1 + 16},
  };
  int64_t foreground = 0;
  for (const Component& component : expected) {
    for (auto [r, c] : component.pixels) {
      INFO("image " << component.n << " pixel (" << r << ", " << c << ")");
      CHECK(at(components.labels, component.n, r, c) == component.label);
      CHECK(at(components.counts, component.n, r, c) == static_cast<int32_t>(component.pixels.size()));
      ++foreground;
    }
  }
  // Background pixels get 0 in both.
  CHECK(sum(ne(components.labels, 0.0).to(DType::i64)).item() == static_cast<double>(foreground));
  CHECK(sum(mul(components.counts.to(DType::i64), eq(mask, 0.0).to(DType::i64))).item() == 0.0);

  // bool input, odd sizes, empty and full images.
  ConnectedComponents from_bool = get_connected_components(mask.to(DType::boolean));
  CHECK(from_bool.labels.to_vector<int32_t>() == components.labels.to_vector<int32_t>());
  CHECK(from_bool.counts.to_vector<int32_t>() == components.counts.to_vector<int32_t>());
  ConnectedComponents odd = get_connected_components(draw({{"#......", "#......", ".......", ".......", "......#"}}));
  CHECK(at(odd.labels, 0, 1, 0) == 1);
  CHECK(at(odd.counts, 0, 1, 0) == 2);
  CHECK(at(odd.labels, 0, 4, 6) == 1 + 4 * 7 + 6);
  CHECK(at(odd.counts, 0, 4, 6) == 1);
  CHECK(sum(get_connected_components(zeros({1, 1, 4, 6}, DType::u8)).labels.to(DType::i64)).item() == 0.0);
  ConnectedComponents full_mask = get_connected_components(ones({1, 1, 4, 6}, DType::boolean));
  CHECK(amin(full_mask.labels.to(DType::i64)).item() == 1.0);
  CHECK(amax(full_mask.labels.to(DType::i64)).item() == 1.0);
  CHECK(amin(full_mask.counts.to(DType::i64)).item() == 24.0);

  CHECK_THROWS_WITH(get_connected_components(zeros({1, 2, 4, 4}, DType::u8)),
                    Catch::Contains("get_connected_components"));
  CHECK_THROWS_WITH(get_connected_components(zeros({1, 1, 4, 4})), Catch::Contains("bool or uint8"));
}

TEST_CASE("fill_holes_in_mask_scores fills small background components with 0.1", "[sam2]") {
  Tensor scores = draw_scores({"#######.",  //
                               "#.######",  //
                               "########",  //
                               "###..###",  //
                               "###.0###",  //
                               "########",  //
                               "#.######",  //
                               "##.#####"});
  // Background components: (0, 7) area 1 in a corner; (1, 1) area 1; the 2x2 block with a 0 score, area 4;
  // (6, 1) and (7, 2), joined diagonally, area 2, on the border. Every one counts as a hole.
  auto filled_pixels = [&](double max_area) {
    Tensor filled = fill_holes_in_mask_scores(scores, max_area);
    std::vector<float> before = scores.to_vector<float>(), after = filled.to_vector<float>();
    std::vector<int64_t> changed;
    for (size_t i = 0; i < before.size(); ++i) {
      if (after[i] != before[i]) {
        CHECK(after[i] == 0.1f);
        changed.push_back(static_cast<int64_t>(i));
      }
    }
    return changed;
  };
  CHECK(filled_pixels(1) == std::vector<int64_t>{7, 9});
  CHECK(filled_pixels(2) == std::vector<int64_t>{7, 9, 49, 58});
  CHECK(filled_pixels(3) == std::vector<int64_t>{7, 9, 49, 58});
  CHECK(filled_pixels(4) == std::vector<int64_t>{7, 9, 27, 28, 35, 36, 49, 58});

  // The filled pixels are constants; the gradient reaches the others unchanged.
  Tensor input = scores.clone().set_requires_grad(true);
  sum(fill_holes_in_mask_scores(input, 2)).backward();
  std::vector<float> gradient = input.grad().to_vector<float>();
  for (int64_t i = 0; i < 64; ++i) CHECK(gradient[i] == (i == 7 || i == 9 || i == 49 || i == 58 ? 0.0f : 1.0f));
  CHECK_THROWS_WITH(fill_holes_in_mask_scores(scores, 0), Catch::Contains("max_area"));
}

TEST_CASE("SAM2Transforms.postprocess_masks fills holes and removes sprinkles of the input masks", "[sam2]") {
  // Threshold 0.5. Channel 0: a 3x3 ring of foreground (1) around one background pixel (0).
  // Channel 1: a lone foreground pixel (3) and a 4 x 8 foreground block.
  std::vector<float> values(2 * 64, 0.0f);
  for (int64_t r = 2; r <= 4; ++r) {
    for (int64_t c = 2; c <= 4; ++c) values[r * 8 + c] = (r == 3 && c == 3) ? 0.0f : 1.0f;
  }
  values[64] = 3.0f;
  for (int64_t i = 64 + 32; i < 128; ++i) values[i] = 3.0f;
  Tensor masks = from_vector(values, {1, 2, 8, 8});

  auto cleaned = [&](double max_hole_area, double max_sprinkle_area) {
    SAM2Transforms transforms({.resolution = 8,
                               .mask_threshold = 0.5,
                               .max_hole_area = max_hole_area,
                               .max_sprinkle_area = max_sprinkle_area});
    // At the masks' own size the bilinear resize is the identity.
    return transforms.postprocess_masks(masks, {8, 8}).to_vector<float>();
  };
  CHECK(cleaned(0, 0) == values);

  // Both steps read the components of the input masks: the ring (area 8) is removed although the filled
  // hole would have made it 9 pixels, and the filled hole stays.
  std::vector<float> expected = values;
  expected[3 * 8 + 3] = 10.5f;
  for (int64_t r = 2; r <= 4; ++r) {
    for (int64_t c = 2; c <= 4; ++c) {
      if (r != 3 || c != 3) expected[r * 8 + c] = -9.5f;
    }
  }
  expected[64] = -9.5f;
  CHECK(cleaned(1, 8) == expected);

  // Holes only: the outside background (55 and 31 pixels) is never a hole at these areas.
  std::vector<float> holes_only = values;
  holes_only[3 * 8 + 3] = 10.5f;
  CHECK(cleaned(30, 0) == holes_only);
  // Sprinkles only, up to 7 pixels: the lone pixel goes, the ring stays.
  std::vector<float> sprinkles_only = values;
  sprinkles_only[64] = -9.5f;
  CHECK(cleaned(0, 7) == sprinkles_only);
}

}  // namespace qatd::sam2
