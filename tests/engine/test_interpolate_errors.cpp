// interpolate: bad arguments raise qatd::Error naming the op, never undefined behaviour.
#include <cmath>

#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {
namespace {

InterpolateOptions sized(InterpolateMode mode, int64_t height, int64_t width) {
  InterpolateOptions options;
  options.mode = mode;
  options.size = {height, width};
  return options;
}

InterpolateOptions scaled(InterpolateMode mode, double height, double width) {
  InterpolateOptions options;
  options.mode = mode;
  options.scale_factor = {height, width};
  return options;
}

}  // namespace

TEST_CASE("interpolate rejects inputs that are not 4-D floating tensors", "[interpolate][errors]") {
  InterpolateOptions options = sized(InterpolateMode::bilinear, 4, 4);
  REQUIRE_THROWS_WITH(interpolate(zeros({3, 2, 2}), options),
                      Catch::Contains("interpolate") && Catch::Contains("4-D") && Catch::Contains("[3, 2, 2]"));
  REQUIRE_THROWS_WITH(interpolate(zeros({1, 1, 1, 2, 2}), options), Catch::Contains("interpolate"));
  REQUIRE_THROWS_WITH(interpolate(zeros({1, 1, 2, 2}, DType::i64), options),
                      Catch::Contains("interpolate") && Catch::Contains("i64"));
  REQUIRE_THROWS_WITH(interpolate(Tensor(), options), Catch::Contains("interpolate") && Catch::Contains("undefined"));
}

TEST_CASE("interpolate needs exactly one of size and scale_factor", "[interpolate][errors]") {
  Tensor x = zeros({1, 1, 3, 3});
  InterpolateOptions neither;
  REQUIRE_THROWS_WITH(interpolate(x, neither), Catch::Contains("interpolate") && Catch::Contains("neither"));
  InterpolateOptions both = sized(InterpolateMode::nearest, 6, 6);
  both.scale_factor = {2.0, 2.0};
  REQUIRE_THROWS_WITH(interpolate(x, both), Catch::Contains("interpolate") && Catch::Contains("both"));
}

TEST_CASE("interpolate allows align_corners and antialias only for bilinear and bicubic", "[interpolate][errors]") {
  Tensor x = zeros({1, 1, 3, 3});
  InterpolateOptions corners = sized(InterpolateMode::nearest, 6, 6);
  corners.align_corners = true;
  REQUIRE_THROWS_WITH(interpolate(x, corners), Catch::Contains("interpolate") && Catch::Contains("align_corners") &&
                                                   Catch::Contains("nearest"));
  InterpolateOptions antialias = sized(InterpolateMode::nearest, 2, 2);
  antialias.antialias = true;
  REQUIRE_THROWS_WITH(interpolate(x, antialias),
                      Catch::Contains("interpolate") && Catch::Contains("antialias") && Catch::Contains("nearest"));
  for (InterpolateMode mode : {InterpolateMode::bilinear, InterpolateMode::bicubic}) {
    InterpolateOptions fine = sized(mode, 2, 5);
    fine.align_corners = true;
    fine.antialias = true;
    REQUIRE(interpolate(x, fine).shape() == Shape{1, 1, 2, 5});
  }
}

TEST_CASE("interpolate rejects empty or non-positive sizes and bad scale factors", "[interpolate][errors]") {
  Tensor x = zeros({1, 2, 3, 4});
  REQUIRE_THROWS_WITH(interpolate(x, sized(InterpolateMode::bilinear, 0, 4)),
                      Catch::Contains("interpolate") && Catch::Contains("positive"));
  REQUIRE_THROWS_WITH(interpolate(x, sized(InterpolateMode::bicubic, 4, -2)), Catch::Contains("interpolate"));
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::nearest, 0.0, 2.0)),
                      Catch::Contains("interpolate") && Catch::Contains("scale_factor"));
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::nearest, 2.0, -1.0)), Catch::Contains("interpolate"));
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::nearest, std::nan(""), 1.0)),
                      Catch::Contains("interpolate"));
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::bilinear, 1.0, INFINITY)), Catch::Contains("interpolate"));
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::bilinear, 1.0, 1e300)),
                      Catch::Contains("interpolate") && Catch::Contains("too large"));
  REQUIRE_THROWS_WITH(interpolate(x, sized(InterpolateMode::nearest, int64_t(1) << 40, int64_t(1) << 40)),
                      Catch::Contains("interpolate") && Catch::Contains("too many elements"));
  // 3 * 0.3 = 0.9 floors to an empty dim.
  REQUIRE_THROWS_WITH(interpolate(x, scaled(InterpolateMode::bilinear, 0.3, 1.0)),
                      Catch::Contains("interpolate") && Catch::Contains("size 0"));
  REQUIRE_THROWS_WITH(interpolate(zeros({1, 0, 3, 3}), sized(InterpolateMode::nearest, 2, 2)),
                      Catch::Contains("interpolate") && Catch::Contains("non-empty"));
  REQUIRE_THROWS_WITH(interpolate(zeros({1, 1, 0, 3}), sized(InterpolateMode::nearest, 2, 2)),
                      Catch::Contains("interpolate"));
}

TEST_CASE("interpolate accepts an empty batch", "[interpolate][errors]") {
  Tensor x = zeros({0, 2, 3, 3});
  x.set_requires_grad(true);
  Tensor y = interpolate(x, sized(InterpolateMode::bicubic, 5, 4));
  REQUIRE(y.shape() == Shape{0, 2, 5, 4});
  y.sum().backward();
  REQUIRE(x.grad().shape() == x.shape());
}

}  // namespace qatd
