// LR schedulers against torch.optim.lr_scheduler (StepLR, LinearLR, and LambdaLR running the
// documented CosineWarmupLR formula), then group selection, state save/restore and bad settings.
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/optim/lr_scheduler.h"
#include "engine/optim/sgd.h"
#include "tests/engine/optim_fixture.h"

namespace qatd {
namespace {

using namespace optim;
using testing::optim_fixture;

constexpr int kLrSteps = 25;                       // tools/make_optim_fixtures.py: LR_STEPS
constexpr double kLrBases[2] = {0.1, 0.02};        // LR_BASES

// Two groups with the fixture's base lrs.
struct TwoGroups {
  Tensor a = zeros({2}).set_requires_grad(true);
  Tensor b = zeros({3}).set_requires_grad(true);
  SGD optimizer{{a}, SgdOptions{.lr = kLrBases[0]}};
  TwoGroups() { optimizer.add_param_group({b}, {.lr = kLrBases[1]}); }
};

}  // namespace

TEST_CASE("schedulers match torch.optim.lr_scheduler's lr sequences", "[optim][torch]") {
  using Make = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
  std::vector<std::pair<std::string, Make>> schedules = {
      {"step", [](Optimizer& o) { return std::make_unique<StepLR>(o, StepLRSettings{.step_size = 4, .gamma = 0.5}); }},
      {"linear",
       [](Optimizer& o) {
         return std::make_unique<LinearLR>(o, LinearLRSettings{.start_factor = 0.25, .total_iters = 6});
       }},
      {"cosine_warmup",
       [](Optimizer& o) {
         return std::make_unique<CosineWarmupLR>(
             o, CosineWarmupSettings{.warmup_steps = 5, .total_steps = 20, .min_lr = 1e-3});
       }},
  };
  std::printf("%-28s %14s\n", "scheduler", "max rel err");
  for (const auto& [name, make] : schedules) {
    INFO("scheduler " << name);
    TwoGroups setup;
    std::unique_ptr<LRScheduler> scheduler = make(setup.optimizer);
    std::vector<double> expected = optim_fixture().get("lr." + name).to_vector<double>();
    REQUIRE(expected.size() == 2 * (kLrSteps + 1));
    double worst = 0.0;
    for (int step = 0; step <= kLrSteps; ++step) {
      if (step > 0) {
        setup.optimizer.step();
        scheduler->step();
      }
      CHECK(scheduler->last_step() == step);
      std::vector<double> lrs = scheduler->last_lr();
      REQUIRE(lrs.size() == 2);
      for (int g = 0; g < 2; ++g) {
        double reference = expected[2 * step + g];
        double error = reference != 0.0 ? std::abs(lrs[g] - reference) / reference : std::abs(lrs[g]);
        worst = std::max(worst, error);
        CHECK(setup.optimizer.lr(g) == lrs[g]);
      }
    }
    std::printf("%-28s %14.3e\n", name.c_str(), worst);
    // PyTorch updates StepLR and LinearLR recursively (lr *= ...), we use their closed forms.
    CHECK(worst <= 1e-13);
  }
}

TEST_CASE("CosineWarmupLR follows its documented formula", "[optim]") {
  TwoGroups setup;
  CosineWarmupLR scheduler(setup.optimizer,
                           {.warmup_steps = 4, .total_steps = 12, .min_lr = 1e-3, .warmup_start_factor = 0.5});
  auto lr_at = [&](int64_t step) { return scheduler.lr_at(step, 0.1); };
  CHECK(scheduler.lr() == Approx(0.05));  // step 0: base * start factor
  CHECK(lr_at(2) == Approx(0.1 * (0.5 + 0.5 * 2 / 4.0)));
  CHECK(lr_at(4) == Approx(0.1));                  // warmup reaches the base lr
  CHECK(lr_at(8) == Approx(1e-3 + (0.1 - 1e-3) * 0.5));  // halfway down the cosine
  CHECK(lr_at(12) == Approx(1e-3));
  CHECK(lr_at(1000) == 1e-3);
  CosineWarmupLR plain(setup.optimizer, {.total_steps = 10});  // no warmup: cosine annealing from step 0
  CHECK(plain.lr_at(0, 0.1) == Approx(0.1));
  CHECK(plain.lr_at(5, 0.1) == Approx(0.05));
  CHECK(plain.lr_at(10, 0.1) == 0.0);
}

TEST_CASE("a scheduler may drive one group; base lrs come from the groups' initial lrs", "[optim]") {
  TwoGroups setup;
  StepLR second_only(setup.optimizer, {.step_size = 1, .gamma = 0.5}, 1);
  REQUIRE(second_only.groups() == std::vector<size_t>{1});
  second_only.step();
  second_only.step();
  CHECK(setup.optimizer.lr(0) == kLrBases[0]);
  CHECK(setup.optimizer.lr(1) == kLrBases[1] * 0.25);
  CHECK(setup.optimizer.initial_lr(1) == kLrBases[1]);
  CHECK_FALSE(setup.optimizer.initial_lr(0).has_value());
  // A later scheduler scales from the recorded initial lr, not the current one (as PyTorch).
  ConstantLR constant(setup.optimizer, {.factor = 0.5, .total_iters = 2});
  CHECK(constant.base_lrs() == std::vector<double>{kLrBases[0], kLrBases[1]});
  CHECK(constant.last_lr() == std::vector<double>{kLrBases[0] * 0.5, kLrBases[1] * 0.5});
  constant.step();
  constant.step();
  CHECK(constant.last_lr() == std::vector<double>{kLrBases[0], kLrBases[1]});
  LambdaLR lambda(setup.optimizer, [](int64_t step) { return 1.0 / (1.0 + static_cast<double>(step)); }, 0);
  lambda.step();
  CHECK(setup.optimizer.lr(0) == kLrBases[0] / 2);
}

TEST_CASE("scheduler state restores the exact lrs", "[optim]") {
  TwoGroups first;
  LinearLR scheduler(first.optimizer, {.start_factor = 0.1, .total_iters = 7});
  for (int step = 0; step < 3; ++step) scheduler.step();
  nlohmann::json saved = scheduler.state_dict();
  CHECK(saved.at("last_step") == 3);

  TwoGroups second;
  LinearLR resumed(second.optimizer, {.start_factor = 0.1, .total_iters = 7});
  resumed.load_state_dict(nlohmann::json::parse(saved.dump()));
  CHECK(resumed.last_step() == 3);
  CHECK(resumed.last_lr() == scheduler.last_lr());
  for (int step = 0; step < 6; ++step) {
    scheduler.step();
    resumed.step();
    CHECK(resumed.last_lr() == scheduler.last_lr());
  }

  StepLR other(second.optimizer, {.step_size = 2});
  REQUIRE_THROWS_WITH(other.load_state_dict(saved), Catch::Contains("saved by LinearLR, not StepLR"));
  StepLR one_group(second.optimizer, {.step_size = 2}, 0);
  nlohmann::json step_state = StepLR(second.optimizer, {.step_size = 2}).state_dict();
  REQUIRE_THROWS_WITH(one_group.load_state_dict(step_state), Catch::Contains("drives param groups"));
  REQUIRE_THROWS_WITH(one_group.load_state_dict(nlohmann::json::object()), Catch::Contains("not a scheduler state"));
}

TEST_CASE("scheduler settings errors", "[optim][errors]") {
  TwoGroups setup;
  REQUIRE_THROWS_WITH(StepLR(setup.optimizer, {}), Catch::Contains("StepLR: step_size 0 must be >= 1"));
  REQUIRE_THROWS_WITH(StepLR(setup.optimizer, {.step_size = 3, .gamma = -1}), Catch::Contains("gamma -1"));
  REQUIRE_THROWS_WITH(StepLR(setup.optimizer, {.step_size = 3}, 2), Catch::Contains("param group 2 does not exist"));
  REQUIRE_THROWS_WITH(LinearLR(setup.optimizer, {.start_factor = 1.5}), Catch::Contains("start_factor 1.5"));
  REQUIRE_THROWS_WITH(LinearLR(setup.optimizer, {.total_iters = 0}), Catch::Contains("total_iters 0 must be >= 1"));
  REQUIRE_THROWS_WITH(ConstantLR(setup.optimizer, {.factor = 2}), Catch::Contains("ConstantLR: factor 2"));
  REQUIRE_THROWS_WITH(CosineWarmupLR(setup.optimizer, {.warmup_steps = 10, .total_steps = 10}),
                      Catch::Contains("total_steps 10 must be greater than warmup_steps 10"));
  REQUIRE_THROWS_WITH(CosineWarmupLR(setup.optimizer, {.total_steps = 10, .min_lr = -1}), Catch::Contains("min_lr -1"));
  REQUIRE_THROWS_WITH(LambdaLR(setup.optimizer, [](int64_t) { return -1.0; }),
                      Catch::Contains("LambdaLR: step 0 gives an invalid lr -0.1 for param group 0"));
  REQUIRE_THROWS_WITH(LambdaLR(setup.optimizer, nullptr), Catch::Contains("factor function is empty"));
}

}  // namespace qatd
