// dropout: inverted dropout statistics, its gradient, determinism under a seeded Generator, and
// its argument checks.
#include <cmath>

#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {
namespace {

double fraction_of_zeros(const Tensor& t) {
  std::vector<double> values = t.to_vector<double>();
  int64_t zeros = 0;
  for (double v : values) zeros += v == 0.0;
  return static_cast<double>(zeros) / static_cast<double>(values.size());
}

}  // namespace

TEST_CASE("dropout zeroes about p of the elements and keeps the mean", "[dropout]") {
  Generator generator(7);
  const int64_t count = 200000;
  for (double p : {0.1, 0.5, 0.8}) {
    INFO("p = " << p);
    Tensor out = dropout(ones({count}), p, true, &generator);
    // Binomial standard deviation of the zero fraction is below 0.0012 here; allow 5 of them.
    CHECK(std::abs(fraction_of_zeros(out) - p) < 0.006);
    CHECK(mean(out).item() == Approx(1.0).margin(0.006 / (1.0 - p)));
    for (double v : out.to_vector<double>()) {
      REQUIRE((v == 0.0 || v == Approx(1.0 / (1.0 - p))));
    }
  }
}

TEST_CASE("dropout's gradient is the kept mask divided by 1 - p", "[dropout]") {
  Generator generator(3);
  Tensor x = randn({50, 40}, DType::f64, &generator);
  x.set_requires_grad(true);
  const double p = 0.3;
  Tensor out = dropout(x, p, true, &generator);
  Tensor upstream = randn({50, 40}, DType::f64, &generator);
  out.backward(upstream);
  std::vector<double> grad = x.grad().to_vector<double>(), values = x.detach().to_vector<double>();
  std::vector<double> outputs = out.detach().to_vector<double>(), seeds = upstream.to_vector<double>();
  for (size_t i = 0; i < grad.size(); ++i) {
    bool kept = outputs[i] != 0.0;
    double mask = kept ? 1.0 / (1.0 - p) : 0.0;
    REQUIRE(outputs[i] == Approx(values[i] * mask));
    REQUIRE(grad[i] == Approx(seeds[i] * mask));
  }
}

TEST_CASE("dropout with a seeded Generator is deterministic", "[dropout]") {
  Tensor x = ones({1000});
  Generator first(42), second(42), other(43);
  std::vector<double> a = dropout(x, 0.5, true, &first).to_vector<double>();
  std::vector<double> b = dropout(x, 0.5, true, &second).to_vector<double>();
  std::vector<double> c = dropout(x, 0.5, true, &other).to_vector<double>();
  CHECK(a == b);
  CHECK(a != c);
  // The generator advances: a second draw differs from the first.
  CHECK(dropout(x, 0.5, true, &first).to_vector<double>() != a);
}

TEST_CASE("dropout is the identity in evaluation and for p = 0, and zero for p = 1", "[dropout]") {
  Tensor x = randn({4, 5});
  CHECK(dropout(x, 0.5, false).is_same(x));
  CHECK(dropout(x, 0.0, true).is_same(x));
  Tensor leaf = randn({4, 5});
  leaf.set_requires_grad(true);
  Tensor dropped = dropout(leaf, 1.0, true);
  CHECK(fraction_of_zeros(dropped.detach()) == 1.0);
  sum(dropped).backward();
  CHECK(fraction_of_zeros(leaf.grad()) == 1.0);
}

TEST_CASE("dropout rejects p outside [0, 1] and non-floating inputs", "[dropout][errors]") {
  REQUIRE_THROWS_WITH(dropout(ones({3}), -0.1, true), Catch::Contains("dropout") && Catch::Contains("-0.1"));
  REQUIRE_THROWS_WITH(dropout(ones({3}), 1.5, false), Catch::Contains("dropout") && Catch::Contains("1.5"));
  REQUIRE_THROWS_WITH(dropout(ones({3}, DType::i64), 0.5, true), Catch::Contains("dropout") && Catch::Contains("i64"));
  REQUIRE_THROWS_WITH(dropout(Tensor(), 0.5, true), Catch::Contains("dropout") && Catch::Contains("undefined"));
}

}  // namespace qatd
