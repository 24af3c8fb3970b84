// pad, cat, stack, split, split_with_sizes, chunk, repeat, repeat_interleave, roll and flip: bad
// arguments raise qatd::Error naming the op, never undefined behaviour.
#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {

TEST_CASE("pad rejects odd pad lists, too many pairs and over-cropping", "[shape_ops][errors]") {
  REQUIRE_THROWS_WITH(pad(zeros({2, 3}), {1, 2, 3}), Catch::Contains("pad") && Catch::Contains("pairs"));
  REQUIRE_THROWS_WITH(pad(zeros({3}), {1, 1, 1, 1}), Catch::Contains("pad") && Catch::Contains("[3]"));
  REQUIRE_THROWS_WITH(pad(zeros({2, 3}), {-2, -2}), Catch::Contains("pad") && Catch::Contains("negative size"));
  REQUIRE_THROWS_WITH(pad(zeros({1}), {3, -2}), Catch::Contains("pad") && Catch::Contains("crops"));
  REQUIRE_THROWS_WITH(pad(Tensor(), {1, 1}), Catch::Contains("pad") && Catch::Contains("undefined"));
  CHECK(pad(zeros({2, 3}), {-3, 0}).shape() == Shape{2, 0});
}

TEST_CASE("pad in reflect and replicate modes enforces PyTorch's ranks and limits", "[shape_ops][errors]") {
  REQUIRE_THROWS_WITH(pad(zeros({5}), {1, 1}, PadMode::reflect),
                      Catch::Contains("pad") && Catch::Contains("reflect") && Catch::Contains("2-D or 3-D"));
  REQUIRE_THROWS_WITH(pad(zeros({2, 2, 2, 5}), {1, 1}, PadMode::replicate),
                      Catch::Contains("pad") && Catch::Contains("replicate") && Catch::Contains("[2, 2, 2, 5]"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 2, 2, 2, 2, 2}), {1, 1, 1, 1, 1, 1, 1, 1}, PadMode::reflect),
                      Catch::Contains("pad") && Catch::Contains("1 to 3 dims"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 5}), {5, 0}, PadMode::reflect),
                      Catch::Contains("pad") && Catch::Contains("smaller than its size 5"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 5}), {0, 7}, PadMode::reflect), Catch::Contains("smaller than its size 5"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 0}), {1, 1}, PadMode::replicate),
                      Catch::Contains("pad") && Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 5}), {-5, 0}, PadMode::replicate),
                      Catch::Contains("pad") && Catch::Contains("leaves no elements"));
  REQUIRE_THROWS_WITH(pad(zeros({1, 5}, DType::boolean), {1, 1}, PadMode::reflect),
                      Catch::Contains("pad") && Catch::Contains("bool"));
  CHECK(pad(zeros({1, 5}), {4, 4}, PadMode::reflect).shape() == Shape{1, 13});
  CHECK(pad(zeros({1, 5}), {9, 9}, PadMode::replicate).shape() == Shape{1, 23});
}

TEST_CASE("pad keeps integer dtypes and reflects values as PyTorch does", "[shape_ops]") {
  Tensor x = arange(5).reshape({1, 5});
  CHECK(pad(x, {-1, 2}, PadMode::reflect).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 3, 2});
  CHECK(pad(x, {2, 1}, PadMode::replicate).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 1, 2, 3, 4, 4});
  CHECK(pad(x, {1, -3}, PadMode::constant, 7).to_vector<int64_t>() == std::vector<int64_t>{7, 0, 1});
}

TEST_CASE("cat and stack reject mismatched shapes, dtypes and empty lists", "[shape_ops][errors]") {
  REQUIRE_THROWS_WITH(cat({}), Catch::Contains("cat") && Catch::Contains("at least one"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 4})}, 0),
                      Catch::Contains("cat") && Catch::Contains("[2, 4]") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3, 1})}, 0),
                      Catch::Contains("cat") && Catch::Contains("[2, 3, 1]"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3}, DType::f64)}),
                      Catch::Contains("cat") && Catch::Contains("f64") && Catch::Contains("f32"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3}), Tensor()}), Catch::Contains("cat") && Catch::Contains("tensor 1"));
  REQUIRE_THROWS_WITH(cat({zeros({2, 3})}, 2), Catch::Contains("cat"));
  REQUIRE_THROWS_WITH(cat({zeros({})}), Catch::Contains("cat") && Catch::Contains("zero-dimensional"));
  REQUIRE_THROWS_WITH(stack({}), Catch::Contains("stack"));
  REQUIRE_THROWS_WITH(stack({zeros({2, 3}), zeros({3, 2})}),
                      Catch::Contains("stack") && Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(stack({zeros({2, 3})}, 3), Catch::Contains("stack"));
  CHECK(cat({zeros({0}), ones({2, 2})}, 1).shape() == Shape{2, 2});
  CHECK(cat({zeros({2}, DType::i64), ones({3}, DType::i64)}).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 0, 1, 1, 1});
}

TEST_CASE("split, split_with_sizes and chunk check sizes like PyTorch", "[shape_ops][errors]") {
  REQUIRE_THROWS_WITH(split(zeros({4}), 0), Catch::Contains("split") && Catch::Contains("positive"));
  REQUIRE_THROWS_WITH(split(zeros({4}), -1), Catch::Contains("split"));
  REQUIRE_THROWS_WITH(split(zeros({}), 1), Catch::Contains("split") && Catch::Contains("zero-dimensional"));
  REQUIRE_THROWS_WITH(split_with_sizes(zeros({5, 2}), {2, 2}),
                      Catch::Contains("split_with_sizes") && Catch::Contains("add up to 4") && Catch::Contains("5"));
  REQUIRE_THROWS_WITH(split_with_sizes(zeros({5}), {6, -1}), Catch::Contains("split_with_sizes"));
  REQUIRE_THROWS_WITH(chunk(zeros({5}), 0), Catch::Contains("chunk") && Catch::Contains("positive"));
  REQUIRE_THROWS_WITH(chunk(zeros({5}), 2, 1), Catch::Contains("chunk"));
  CHECK(split(zeros({0, 3}), 0).size() == 1);
  CHECK(split(zeros({7}), 3).back().shape() == Shape{1});
  CHECK(split(zeros({2}), 5).size() == 1);
  CHECK(chunk(zeros({5}), 4).size() == 3);
  CHECK(chunk(zeros({0, 3}), 3).size() == 3);
  CHECK(chunk(zeros({6}), 4).size() == 3);
}

TEST_CASE("repeat, repeat_interleave, roll and flip reject bad arguments", "[shape_ops][errors]") {
  REQUIRE_THROWS_WITH(repeat(zeros({2, 3}), {2}), Catch::Contains("repeat") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(repeat(zeros({2}), {-1}), Catch::Contains("repeat") && Catch::Contains("non-negative"));
  REQUIRE_THROWS_WITH(repeat_interleave(zeros({2}), -2, 0),
                      Catch::Contains("repeat_interleave") && Catch::Contains("non-negative"));
  REQUIRE_THROWS_WITH(repeat_interleave(zeros({2}), 2, 1), Catch::Contains("repeat_interleave"));
  REQUIRE_THROWS_WITH(roll(zeros({2, 3}), {1, 2}, {0}), Catch::Contains("roll") && Catch::Contains("2 shifts"));
  REQUIRE_THROWS_WITH(roll(zeros({2, 3}), {1, 2}, {}), Catch::Contains("roll"));
  REQUIRE_THROWS_WITH(roll(zeros({2, 3}), {1}, {2}), Catch::Contains("roll"));
  REQUIRE_THROWS_WITH(flip(zeros({2, 3}), {0, -2}), Catch::Contains("flip") && Catch::Contains("more than once"));
  REQUIRE_THROWS_WITH(flip(zeros({2, 3}), {2}), Catch::Contains("flip"));
  CHECK(repeat(ones({2}), {0, 3}).shape() == Shape{0, 6});
  CHECK(roll(arange(5), {2}, {0}).to_vector<int64_t>() == std::vector<int64_t>{3, 4, 0, 1, 2});
  CHECK(flip(arange(4).reshape({2, 2}), {0, 1}).to_vector<int64_t>() == std::vector<int64_t>{3, 2, 1, 0});
  CHECK(flip(zeros({0, 3}), {0}).shape() == Shape{0, 3});
}

TEST_CASE("split pieces are views and the gradient of every piece reaches the input", "[shape_ops]") {
  Tensor x = arange(0.0, 6.0, 1.0, DType::f64).reshape({2, 3});
  x.set_requires_grad(true);
  std::vector<Tensor> pieces = chunk(x, 3, 1);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[1].storage() == x.storage());
  sum(add(mul(pieces[0], 1.0), add(mul(pieces[1], 2.0), mul(pieces[2], 3.0)))).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 2, 3, 1, 2, 3});
}

}  // namespace qatd
