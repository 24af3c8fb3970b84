// Bad arguments to layer_norm, layer_norm2d, softmax, log_softmax and scaled_dot_product_attention
// raise qatd::Error naming the op (never undefined behaviour).
#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("layer_norm rejects bad arguments", "[errors][normalization]") {
  Tensor x = randn({2, 3, 4});
  REQUIRE_THROWS_WITH(layer_norm(Tensor(), {4}), Contains("layer_norm") && Contains("undefined"));
  REQUIRE_THROWS_WITH(layer_norm(x, {}), Contains("layer_norm") && Contains("at least one dim"));
  REQUIRE_THROWS_WITH(layer_norm(x, {3}), Contains("layer_norm") && Contains("does not end in normalized_shape"));
  REQUIRE_THROWS_WITH(layer_norm(x, {2, 3, 4, 5}), Contains("layer_norm"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, randn({3})), Contains("layer_norm") && Contains("weight"));
  REQUIRE_THROWS_WITH(layer_norm(x, {3, 4}, randn({12})), Contains("layer_norm") && Contains("weight"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, Tensor(), randn({5})), Contains("layer_norm") && Contains("bias"));
  REQUIRE_THROWS_WITH(layer_norm(x, {4}, randn({4}, DType::f64)), Contains("layer_norm") && Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(layer_norm(arange(8).reshape({2, 4}), {4}), Contains("layer_norm") && Contains("f32 or f64"));
}

TEST_CASE("layer_norm2d rejects bad arguments", "[errors][normalization]") {
  Tensor weight = randn({3}), bias = randn({3});
  REQUIRE_THROWS_WITH(layer_norm2d(randn({3, 4, 5}), weight, bias), Contains("layer_norm2d") && Contains("4-D"));
  REQUIRE_THROWS_WITH(layer_norm2d(randn({2, 4, 5, 5}), weight, bias), Contains("layer_norm2d") && Contains("weight"));
  REQUIRE_THROWS_WITH(layer_norm2d(randn({2, 3, 5, 5}), weight, randn({3, 1})),
                      Contains("layer_norm2d") && Contains("bias"));
  REQUIRE_THROWS_WITH(layer_norm2d(Tensor(), weight, bias), Contains("layer_norm2d") && Contains("undefined"));
  REQUIRE_THROWS_WITH(layer_norm2d(randn({2, 3, 5, 5}).to(DType::f16), weight, bias), Contains("layer_norm2d"));
}

TEST_CASE("softmax and log_softmax reject bad arguments", "[errors][normalization]") {
  Tensor x = randn({2, 3});
  REQUIRE_THROWS_WITH(softmax(x, 2), Contains("softmax"));
  REQUIRE_THROWS_WITH(softmax(x, -3), Contains("softmax"));
  REQUIRE_THROWS_WITH(log_softmax(x, 5), Contains("log_softmax"));
  REQUIRE_THROWS_WITH(softmax(Tensor(), 0), Contains("softmax") && Contains("undefined"));
  REQUIRE_THROWS_WITH(softmax(arange(6).reshape({2, 3}), 1), Contains("softmax") && Contains("f32 or f64"));
  REQUIRE_THROWS_WITH(log_softmax(ones({2, 3}, DType::boolean), 1), Contains("log_softmax"));
}

TEST_CASE("scaled_dot_product_attention rejects bad arguments", "[errors][normalization]") {
  Tensor q = randn({2, 5, 4}), k = randn({2, 6, 4}), v = randn({2, 6, 3});
  const char* name = "scaled_dot_product_attention";
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(Tensor(), k, v), Contains(name) && Contains("query"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, Tensor()), Contains(name) && Contains("value"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(randn({4}), k, v), Contains(name) && Contains("2-D"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, randn({2, 6, 5}), v), Contains(name) && Contains("last dim"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, randn({2, 7, 3})), Contains(name) && Contains("rows"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, randn({3, 6, 4}), randn({3, 6, 3})), Contains(name));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, v.to(DType::f64)),
                      Contains(name) && Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(randn({2, 5, 0}), randn({2, 6, 0}), v),
                      Contains(name) && Contains("positive"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, v, ones({5, 7}, DType::boolean)),
                      Contains(name) && Contains("does not broadcast"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, v, ones({3, 5, 6}, DType::boolean)),
                      Contains(name) && Contains("does not broadcast"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, v, zeros({5, 6}, DType::f64)),
                      Contains(name) && Contains("mask must be bool"));
  REQUIRE_THROWS_WITH(scaled_dot_product_attention(q, k, v, zeros({5, 6}, DType::i64)),
                      Contains(name) && Contains("mask must be bool"));
}

}  // namespace
}  // namespace qatd
