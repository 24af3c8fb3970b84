// conv2d, conv_transpose2d, max_pool2d and avg_pool2d: bad arguments raise qatd::Error naming the op,
// never undefined behaviour.
#include <limits>

#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {

TEST_CASE("conv2d rejects bad ranks, dtypes and undefined tensors", "[conv][errors]") {
  Tensor w = zeros({2, 3, 3, 3});
  REQUIRE_THROWS_WITH(conv2d(zeros({3, 5}), w), Catch::Contains("conv2d") && Catch::Contains("[3, 5]"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 1, 3, 5, 5}), w), Catch::Contains("conv2d"));
  REQUIRE_THROWS_WITH(conv2d(Tensor(), w), Catch::Contains("conv2d") && Catch::Contains("undefined"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), Tensor()), Catch::Contains("conv2d") && Catch::Contains("weight"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3})),
                      Catch::Contains("conv2d") && Catch::Contains("4-D") && Catch::Contains("[2, 3, 3]"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}, DType::f64), w),
                      Catch::Contains("conv2d") && Catch::Contains("f64") && Catch::Contains("f32"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}, DType::i64), zeros({2, 3, 3, 3}, DType::i64)),
                      Catch::Contains("conv2d") && Catch::Contains("i64"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), w, zeros({2}, DType::f64)),
                      Catch::Contains("conv2d") && Catch::Contains("f64"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 0, 5}), w), Catch::Contains("conv2d") && Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), zeros({0, 3, 3, 3})),
                      Catch::Contains("conv2d") && Catch::Contains("empty"));
}

TEST_CASE("conv2d checks channels against weight, groups and bias", "[conv][errors]") {
  REQUIRE_THROWS_WITH(
      conv2d(zeros({1, 4, 5, 5}), zeros({2, 3, 3, 3})),
      Catch::Contains("conv2d") && Catch::Contains("expects 3 input channels") && Catch::Contains("has 4"));
  Conv2dOptions grouped;
  grouped.groups = 2;
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 4, 5, 5}), zeros({3, 2, 3, 3}), Tensor(), grouped),
                      Catch::Contains("conv2d") && Catch::Contains("divisible by groups = 2"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 6, 5, 5}), zeros({4, 2, 3, 3}), Tensor(), grouped),
                      Catch::Contains("conv2d") && Catch::Contains("expects 4 input channels"));
  Conv2dOptions no_groups;
  no_groups.groups = 0;
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3, 3}), Tensor(), no_groups),
                      Catch::Contains("conv2d") && Catch::Contains("groups"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3, 3}), zeros({3})),
                      Catch::Contains("conv2d") && Catch::Contains("bias") && Catch::Contains("(2)"));
  REQUIRE_THROWS_WITH(conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3, 3}), zeros({2, 1})),
                      Catch::Contains("conv2d") && Catch::Contains("bias"));
}

TEST_CASE("conv2d checks stride, padding, dilation and the output size", "[conv][errors]") {
  Tensor x = zeros({1, 1, 5, 5}), w = zeros({1, 1, 3, 3});
  REQUIRE_THROWS_WITH(conv2d(x, w, Tensor(), {{0, 1}, {0, 0}, {1, 1}, 1}),
                      Catch::Contains("conv2d") && Catch::Contains("stride"));
  REQUIRE_THROWS_WITH(conv2d(x, w, Tensor(), {{1, 1}, {-1, 0}, {1, 1}, 1}),
                      Catch::Contains("conv2d") && Catch::Contains("padding"));
  REQUIRE_THROWS_WITH(conv2d(x, w, Tensor(), {{1, 1}, {0, 0}, {1, 0}, 1}),
                      Catch::Contains("conv2d") && Catch::Contains("dilation"));
  REQUIRE_THROWS_WITH(conv2d(x, zeros({1, 1, 6, 3})), Catch::Contains("conv2d") && Catch::Contains("dilated kernel"));
  REQUIRE_THROWS_WITH(conv2d(x, w, Tensor(), {{1, 1}, {0, 0}, {3, 1}, 1}),
                      Catch::Contains("conv2d") && Catch::Contains("smaller than the dilated kernel (7, 3)"));
  REQUIRE_NOTHROW(conv2d(x, zeros({1, 1, 6, 3}), Tensor(), {{1, 1}, {1, 0}, {1, 1}, 1}));
}

TEST_CASE("conv_transpose2d checks its weight layout, output_padding and output size", "[conv][errors]") {
  Tensor x = zeros({1, 4, 3, 3});
  REQUIRE_THROWS_WITH(conv_transpose2d(zeros({4, 3}), zeros({4, 2, 2, 2})),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("[4, 3]"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({3, 2, 2, 2})),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("expects 3 input channels"));
  ConvTranspose2dOptions grouped;
  grouped.groups = 3;
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), grouped),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("divisible by groups = 3"));
  grouped.groups = 2;
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({4, 2, 2, 2}), zeros({2}), grouped),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("bias must have shape (4)"));
  REQUIRE_NOTHROW(conv_transpose2d(x, zeros({4, 2, 2, 2}), zeros({4}), grouped));
  ConvTranspose2dOptions padded;
  padded.stride = {2, 2};
  padded.output_padding = {2, 0};
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), padded),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("output_padding"));
  padded.output_padding = {-1, 0};
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), padded),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("output_padding"));
  padded.output_padding = {1, 1};
  REQUIRE_NOTHROW(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), padded));
  ConvTranspose2dOptions dilated;
  dilated.dilation = {2, 2};
  dilated.output_padding = {1, 1};
  REQUIRE_NOTHROW(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), dilated));
  ConvTranspose2dOptions over_padded;
  over_padded.padding = {3, 3};
  REQUIRE_THROWS_WITH(conv_transpose2d(x, zeros({4, 2, 2, 2}), Tensor(), over_padded),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("too small"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x.to(DType::f64), zeros({4, 2, 2, 2})),
                      Catch::Contains("conv_transpose2d") && Catch::Contains("f64"));
}

TEST_CASE("pooling rejects bad inputs and options", "[pool][errors]") {
  Pool2dOptions options;
  REQUIRE_THROWS_WITH(max_pool2d(zeros({4, 4}), options), Catch::Contains("max_pool2d") && Catch::Contains("[4, 4]"));
  REQUIRE_THROWS_WITH(avg_pool2d(zeros({1, 1, 1, 4, 4}), options), Catch::Contains("avg_pool2d"));
  REQUIRE_THROWS_WITH(max_pool2d(zeros({1, 1, 4, 4}, DType::i32), options),
                      Catch::Contains("max_pool2d") && Catch::Contains("i32"));
  REQUIRE_THROWS_WITH(max_pool2d(Tensor(), options), Catch::Contains("max_pool2d") && Catch::Contains("undefined"));
  REQUIRE_THROWS_WITH(avg_pool2d(zeros({1, 0, 4, 4}), options),
                      Catch::Contains("avg_pool2d") && Catch::Contains("empty"));

  Tensor x = zeros({1, 2, 5, 5});
  REQUIRE_THROWS_WITH(max_pool2d(x, {{0, 2}}), Catch::Contains("max_pool2d") && Catch::Contains("kernel_size"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {{2, 2}, {-1, 1}}), Catch::Contains("max_pool2d") && Catch::Contains("stride"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {{3, 3}, {1, 1}, {2, 0}}),
                      Catch::Contains("max_pool2d") && Catch::Contains("at most half of kernel_size"));
  REQUIRE_THROWS_WITH(avg_pool2d(x, {{3, 3}, {1, 1}, {0, -1}}),
                      Catch::Contains("avg_pool2d") && Catch::Contains("padding"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {{2, 2}, {1, 1}, {0, 0}, {0, 1}}),
                      Catch::Contains("max_pool2d") && Catch::Contains("dilation"));
  REQUIRE_THROWS_WITH(avg_pool2d(x, {{2, 2}, {1, 1}, {0, 0}, {2, 1}}),
                      Catch::Contains("avg_pool2d") && Catch::Contains("dilation"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {{6, 6}}), Catch::Contains("max_pool2d") && Catch::Contains("too small"));
  REQUIRE_THROWS_WITH(max_pool2d(x, {{3, 3}, {1, 1}, {0, 0}, {3, 3}}),
                      Catch::Contains("max_pool2d") && Catch::Contains("too small"));
  REQUIRE_NOTHROW(max_pool2d(x, {{2, 2}, {0, 0}, {1, 1}, {1, 1}, true}));
}

TEST_CASE("pooling and convolution shapes follow PyTorch", "[conv][pool]") {
  CHECK(max_pool2d(zeros({1, 1, 5, 5}), {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true}).shape() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(zeros({1, 1, 8, 8}), {{3, 3}, {2, 2}, {0, 0}, {1, 1}, true}).shape() == Shape{1, 1, 4, 4});
  CHECK(avg_pool2d(zeros({2, 5, 5}), {{2, 2}}).shape() == Shape{2, 2, 2});
  CHECK(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})).shape() == Shape{4, 6, 6});
  CHECK(conv2d(zeros({0, 3, 8, 8}), zeros({4, 3, 3, 3})).shape() == Shape{0, 4, 6, 6});
  ConvTranspose2dOptions upscale;
  upscale.stride = {2, 2};
  CHECK(conv_transpose2d(zeros({1, 4, 8, 8}), zeros({4, 2, 2, 2}), Tensor(), upscale).shape() == Shape{1, 2, 16, 16});
}

TEST_CASE("convolution gradients over an empty batch are zero", "[conv]") {
  Tensor x = zeros({0, 3, 6, 6}).set_requires_grad(true);
  Tensor w = ones({4, 3, 3, 3}).set_requires_grad(true);
  Tensor b = ones({4}).set_requires_grad(true);
  conv2d(x, w, b).sum().backward();
  CHECK(w.grad().shape() == w.shape());
  CHECK(abs(w.grad()).sum().item() == 0.0);
  CHECK(abs(b.grad()).sum().item() == 0.0);
}

TEST_CASE("max_pool2d sends the gradient where PyTorch does: first maximum, else the last NaN", "[pool]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  auto gradient = [](std::vector<double> values) {
    Tensor x = from_vector(values, {1, 1, 2, 2}).set_requires_grad(true);
    max_pool2d(x, {{2, 2}}).sum().backward();
    return x.grad().to_vector<double>();
  };
  CHECK(gradient({3, 3, 1, 2}) == std::vector<double>{1, 0, 0, 0});
  CHECK(gradient({nan, 3, nan, 1}) == std::vector<double>{0, 0, 1, 0});
  CHECK(gradient({1, nan, 5, 2}) == std::vector<double>{0, 1, 0, 0});
  CHECK(gradient({-inf, -inf, -inf, -inf}) == std::vector<double>{1, 0, 0, 0});
}

}  // namespace qatd
