// Tensor storage, views, dtypes and random numbers.
#include <catch2/catch.hpp>

#include "engine/engine.h"

namespace qatd {

TEST_CASE("views share storage and never copy", "[tensor]") {
  Tensor x = arange(0.0, 24.0, 1.0).reshape({2, 3, 4});
  Tensor views[] = {x.view({6, 4}), x.permute({2, 0, 1}), x.transpose(0, 1), x.narrow(2, 1, 2),
                    x.slice(1, 0, 3, 2), x.select(0, 1), x.unsqueeze(1), x.flatten(),
                    x.narrow(0, 0, 1).expand({5, 3, 4})};
  for (const Tensor& v : views) CHECK(v.storage() == x.storage());
  Tensor p = x.permute({2, 0, 1});
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  Tensor dense = p.contiguous();
  CHECK(dense.storage() != x.storage());
  CHECK(dense.is_contiguous());
  CHECK(dense.to_vector<float>()[1] == 4.0f);  // p[0, 0, 1] = x[0, 1, 0]
}

TEST_CASE("reshape views when it can and copies only when it must", "[tensor]") {
  Tensor x = arange(0.0, 12.0, 1.0).reshape({3, 4});
  CHECK(x.reshape({2, 6}).storage() == x.storage());
  Tensor t = x.t();
  REQUIRE_THROWS_WITH(t.view({12}), Catch::Contains("reshape"));
  Tensor flat = t.reshape({12});
  CHECK(flat.storage() != x.storage());
  CHECK(flat.to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  REQUIRE_THROWS_WITH(x.reshape({5, -1}), Catch::Contains("invalid for input of shape [3, 4]"));
}

TEST_CASE("every in-place write bumps the version counter", "[tensor]") {
  Tensor x = zeros({4});
  uint64_t v0 = x.version();
  x.fill_(1.0);
  x.add_(ones({4}));
  x.narrow(0, 1, 2).mul_(3.0);
  x.clamp_(0.0, 5.0);
  CHECK(x.version() == v0 + 4);
  CHECK(x.to_vector<float>() == std::vector<float>{2, 5, 5, 2});
  REQUIRE_THROWS_WITH(ones({1}).expand({4}).fill_(0.0), Catch::Contains("expanded view"));
}

TEST_CASE("dtype conversions round like PyTorch", "[tensor]") {
  Tensor third = full({1}, 1.0 / 3.0, DType::f64);
  CHECK(third.to(DType::f16).item() == Approx(0.333251953125).epsilon(0));
  CHECK(third.to(DType::bf16).item() == Approx(0.333984375).epsilon(0));
  CHECK(full({1}, 2.9).to(DType::i64).item() == 2.0);
  CHECK(full({1}, -0.5).to(DType::boolean).item() == 1.0);
  Tensor big = full({1}, 70000.0).to(DType::f16);
  CHECK(std::isinf(big.item()));
  REQUIRE_THROWS_WITH(exp(ones({2}, DType::f16)), Catch::Contains("f16"));
}

TEST_CASE("binary ops refuse mixed dtypes and non-broadcastable shapes with the names", "[tensor]") {
  REQUIRE_THROWS_WITH(add(ones({2}), ones({2}, DType::f64)), Catch::Contains("add") && Catch::Contains("f32"));
  REQUIRE_THROWS_WITH(mul(ones({2, 3}), ones({4})), Catch::Contains("mul") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(Tensor().shape(), Catch::Contains("undefined"));
}

TEST_CASE("seeded random numbers are deterministic and well distributed", "[tensor][random]") {
  Generator a(42), b(42), c(43);
  std::vector<float> first = randn({1000}, DType::f32, &a).to_vector<float>();
  CHECK(first == randn({1000}, DType::f32, &b).to_vector<float>());
  CHECK(first != randn({1000}, DType::f32, &c).to_vector<float>());
  Generator g(7);
  Tensor samples = randn({200000}, DType::f64, &g);
  CHECK(mean(samples).item() == Approx(0.0).margin(0.01));
  CHECK(var(samples).item() == Approx(1.0).margin(0.01));
  Tensor u = rand({200000}, DType::f64, &g);
  CHECK(amin(u).item() >= 0.0);
  CHECK(amax(u).item() < 1.0);
  CHECK(mean(u).item() == Approx(0.5).margin(0.01));
  Tensor t = empty({10000});
  trunc_normal_(t, 0.0, 1.0, -0.5, 0.5, &g);
  CHECK(amin(t).item() >= -0.5);
  CHECK(amax(t).item() <= 0.5);
  double p = mean(bernoulli({100000}, 0.3, &g).to(DType::f64)).item();
  CHECK(p == Approx(0.3).margin(0.01));
  std::vector<int64_t> perm = randperm(50, &g).to_vector<int64_t>();
  std::sort(perm.begin(), perm.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(perm[i] == i);
}

TEST_CASE("a generator's state can be saved and restored", "[tensor][random]") {
  Generator g(123);
  randn({10}, DType::f32, &g);
  std::string state = g.state();
  std::vector<float> expected = randn({10}, DType::f32, &g).to_vector<float>();
  Generator restored;
  restored.set_state(state);
  CHECK(randn({10}, DType::f32, &restored).to_vector<float>() == expected);
  REQUIRE_THROWS_WITH(restored.set_state("not a state"), Catch::Contains("malformed"));
}

TEST_CASE("factories: arange, linspace, full, from_vector", "[tensor]") {
  CHECK(arange(5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(1.0, 2.0, 0.25).to_vector<float>() == std::vector<float>{1.0f, 1.25f, 1.5f, 1.75f});
  std::vector<double> l = linspace(0.0, 1.0, 5, DType::f64).to_vector<double>();
  CHECK(l == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0});
  REQUIRE_THROWS_WITH(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), Catch::Contains("do not fill"));
  REQUIRE_THROWS_WITH(zeros({2, -1}), Catch::Contains("negative size"));
  CHECK(scalar_tensor(3.5).item() == 3.5);
}

}  // namespace qatd

namespace qatd {

TEST_CASE("large CPU buffers are reused, within the cache limit", "[tensor][allocator]") {
  CpuAllocator& allocator = CpuAllocator::instance();
  allocator.empty_cache();
  void* first = nullptr;
  {
    Tensor big = ones({1 << 20});  // 4 MiB
    first = big.raw_data();
  }
  CHECK(allocator.cached_bytes() >= (size_t(4) << 20));
  Tensor again = zeros({1 << 20});
  CHECK(again.raw_data() == first);
  CHECK(sum(again).item() == 0.0);  // reused memory is initialized like fresh memory
  again = Tensor();
  allocator.set_cache_limit(0);
  CHECK(allocator.cached_bytes() == 0);
  allocator.set_cache_limit(size_t(2048) << 20);
}

}  // namespace qatd
