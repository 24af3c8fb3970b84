// The autograd pitfalls a minimal engine must handle (shared/guide/engine_anchors.md §5).
#include <catch2/catch.hpp>

#include "engine/autograd/node.h"
#include "engine/engine.h"

namespace qatd {
namespace {

Tensor leaf(std::vector<double> values, Shape shape) {
  Tensor t = from_vector(values, shape);
  t.set_requires_grad(true);
  return t;
}

std::vector<double> values_of(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST_CASE("a tensor used twice gets the summed gradient", "[autograd]") {
  Tensor x = leaf({1.0, 2.0, 3.0}, {3});
  Tensor y = sum(add(mul(x, x), mul(x, 3.0)));  // d/dx = 2x + 3
  y.backward();
  CHECK(values_of(x.grad()) == std::vector<double>{5.0, 7.0, 9.0});
}

TEST_CASE("a shared Linear used twice accumulates both uses", "[autograd]") {
  Tensor w = leaf({2.0}, {1, 1});
  Tensor x = from_vector(std::vector<double>{3.0}, {1, 1});
  Tensor y = sum(linear(linear(x, w), w));  // w * w * x -> d/dw = 2 w x
  y.backward();
  CHECK(w.grad().item() == Approx(12.0));
}

TEST_CASE("leaf gradients accumulate across backward calls until cleared", "[autograd]") {
  Tensor x = leaf({1.0, -2.0}, {2});
  sum(mul(x, 4.0)).backward();
  sum(mul(x, 4.0)).backward();
  CHECK(values_of(x.grad()) == std::vector<double>{8.0, 8.0});
  x.set_grad(Tensor());
  sum(x).backward();
  CHECK(values_of(x.grad()) == std::vector<double>{1.0, 1.0});
}

TEST_CASE("backward takes an explicit upstream gradient and refuses an implied one for non-scalars", "[autograd]") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = mul(x, x);
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("one-element output"));
  y.backward(from_vector(std::vector<double>{1.0, 10.0}, {2}));
  CHECK(values_of(x.grad()) == std::vector<double>{2.0, 40.0});
}

TEST_CASE("a second backward needs retain_graph", "[autograd]") {
  Tensor x = leaf({3.0}, {1});
  Tensor y = sum(exp(x));
  y.backward();
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("retain_graph"));

  Tensor z = sum(exp(x));
  x.set_grad(Tensor());
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();
  CHECK(x.grad().item() == Approx(2.0 * std::exp(3.0)));
}

TEST_CASE("saved tensors are freed after backward", "[autograd]") {
  Tensor x = leaf({0.5, 0.25}, {2});
  Tensor hidden = exp(x);
  std::weak_ptr<Storage> saved_storage = hidden.storage();
  Tensor y = sum(sin(hidden));  // sin saves `hidden`
  hidden = Tensor();
  REQUIRE_FALSE(saved_storage.expired());
  y.backward();
  CHECK(saved_storage.expired());
}

TEST_CASE("modifying a saved tensor in place makes backward refuse", "[autograd]") {
  Tensor x = leaf({0.5, 0.25}, {2});
  Tensor hidden = exp(x);
  Tensor y = sum(sin(hidden));
  hidden.detach().add_(ones({2}, DType::f64));  // same storage, so the version moves
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("modified in place") && Catch::Contains("sin"));

  Tensor a = exp(x);
  Tensor b = sum(sin(a));
  {
    NoGradGuard no_grad;
    a.mul_(2.0);
  }
  REQUIRE_THROWS_WITH(b.backward(), Catch::Contains("modified in place"));
}

TEST_CASE("in-place writes to tensors that require grad are refused while recording", "[autograd]") {
  Tensor x = leaf({1.0}, {1});
  REQUIRE_THROWS_WITH(x.add_(ones({1}, DType::f64)), Catch::Contains("requires grad"));
  REQUIRE_THROWS_WITH(mul(x, 2.0).fill_(0.0), Catch::Contains("requires grad"));
  NoGradGuard no_grad;
  x.add_(ones({1}, DType::f64));
  CHECK(x.item() == 2.0);
}

TEST_CASE("no_grad records nothing and keeps no saved tensors", "[autograd]") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y;
  {
    NoGradGuard no_grad;
    y = mul(exp(x), x);
  }
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
  REQUIRE_THROWS_WITH(sum(y).backward(), Catch::Contains("does not require grad"));
  {
    NoGradGuard no_grad;
    GradModeGuard enabled(true);
    CHECK(mul(x, 2.0).requires_grad());
  }
  CHECK(GradMode::is_enabled());
}

TEST_CASE("detach stops the gradient but shares storage and version", "[autograd]") {
  Tensor x = leaf({2.0}, {1});
  Tensor y = mul(x, x);
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == y.storage());
  Tensor z = sum(add(mul(d, x), y));  // d is a constant 4: dz/dx = 4 + 2x
  z.backward();
  CHECK(x.grad().item() == Approx(8.0));
}

TEST_CASE("gradients of broadcast operands are summed back to their shapes", "[autograd]") {
  Tensor a = leaf({1.0, 2.0, 3.0}, {3, 1});
  Tensor b = leaf({10.0, 20.0}, {2});
  sum(mul(a, b)).backward();  // (3, 2)
  CHECK(a.grad().shape() == Shape{3, 1});
  CHECK(values_of(a.grad()) == std::vector<double>{30.0, 30.0, 30.0});
  CHECK(values_of(b.grad()) == std::vector<double>{6.0, 6.0});
}

TEST_CASE("backward walks very deep graphs without recursion", "[autograd]") {
  Tensor x = leaf({1.0}, {1});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = add(y, 1e-6);
  sum(y).backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("tensor hooks see and may replace gradients; retain_grad keeps non-leaf grads", "[autograd]") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor h = mul(x, 3.0);
  h.retain_grad();
  std::vector<double> seen;
  h.register_hook([&](const Tensor& g) {
    seen = g.to_vector<double>();
    return mul(g, 10.0);
  });
  x.register_hook([](const Tensor& g) { return add(g, 1.0); });
  sum(h).backward();
  CHECK(seen == std::vector<double>{1.0, 1.0});
  CHECK(values_of(h.grad()) == std::vector<double>{10.0, 10.0});
  CHECK(values_of(x.grad()) == std::vector<double>{31.0, 31.0});
}

TEST_CASE("integer tensors cannot require grad; non-leaves cannot change requires_grad", "[autograd]") {
  Tensor i = arange(3);
  REQUIRE_THROWS_WITH(i.set_requires_grad(true), Catch::Contains("f32 and f64"));
  Tensor x = leaf({1.0}, {1});
  Tensor y = mul(x, 2.0);
  REQUIRE_THROWS_WITH(y.set_requires_grad(false), Catch::Contains("leaf"));
}

TEST_CASE("errors inside backward name the op", "[autograd]") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = mul(x, 2.0);
  REQUIRE_THROWS_WITH(y.backward(ones({3}, DType::f64)), Catch::Contains("upstream gradient has shape [3]"));
}

TEST_CASE("views record gradients back to their base", "[autograd]") {
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = x.t().slice(0, 1, 3).reshape({-1});  // picks x[:, 1:3] transposed
  sum(mul(y, from_vector(std::vector<double>{1, 2, 3, 4}, {4}))).backward();
  CHECK(values_of(x.grad()) == std::vector<double>{0, 1, 3, 0, 2, 4});
}

TEST_CASE("slices of one tensor add their gradients into one buffer, hooks included", "[autograd]") {
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {6});
  std::vector<Tensor> pieces = chunk(x, 3);
  pieces[1].retain_grad();
  pieces[1].register_hook([](const Tensor& g) { return mul(g, 10.0); });
  Tensor overlapping = x.slice(0, 1, 5);  // overlaps pieces 0, 1 and 2
  Tensor loss = add(add(sum(mul(pieces[0], 1.0)), sum(mul(pieces[1], 2.0))),
                    add(sum(mul(pieces[2], 3.0)), sum(mul(overlapping, 100.0))));
  loss.backward();
  CHECK(values_of(x.grad()) == std::vector<double>{1, 101, 120, 120, 103, 3});
  CHECK(values_of(pieces[1].grad()) == std::vector<double>{20, 20});
}

TEST_CASE("a graph shared by two roots is walked once per backward", "[autograd]") {
  Tensor x = leaf({1.0}, {1});
  Tensor shared = exp(x);
  Tensor loss = add(sum(mul(shared, 2.0)), sum(mul(shared, 3.0)));
  loss.backward();
  CHECK(x.grad().item() == Approx(5.0 * std::exp(1.0)));
}

}  // namespace qatd
