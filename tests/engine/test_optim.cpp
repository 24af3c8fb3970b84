// Optimizers against torch.optim (foreach=False), step by step, from the fixture that
// tools/make_optim_fixtures.py writes; then state save/restore and parameter handling.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/lr_scheduler.h"
#include "engine/optim/sgd.h"
#include "tests/engine/optim_fixture.h"

namespace qatd {

using ::qatd::testing::temporary_path;
namespace {

using namespace optim;
using testing::optim_fixture;
using testing::relative_error;

constexpr int kSteps = 5;        // tools/make_optim_fixtures.py: STEPS
constexpr int kSkippedStep = 2;  // parameter 1 has no gradient at this step (SKIPPED_STEP)
constexpr int kParams = 3;

using Factory = std::function<std::unique_ptr<Optimizer>(const std::vector<Tensor>&)>;

// The configurations of tools/make_optim_fixtures.py (CONFIGS), built the same way.
std::vector<std::pair<std::string, Factory>> torch_configs() {
  return {
      {"sgd_plain", [](const std::vector<Tensor>& p) { return std::make_unique<SGD>(p, SgdOptions{.lr = 0.1}); }},
      {"sgd_momentum_dampening",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<SGD>(p, SgdOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.1});
       }},
      {"sgd_nesterov_weight_decay",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<SGD>(p,
                                      SgdOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
      {"sgd_groups_maximize",
       [](const std::vector<Tensor>& p) {
         auto optimizer = std::make_unique<SGD>(std::vector<Tensor>{p[0]}, SgdOptions{.lr = 0.1});
         optimizer->add_param_group({p[1], p[2]}, {.lr = 0.01, .momentum = 0.5, .maximize = true});
         return optimizer;
       }},
      {"adam_plain", [](const std::vector<Tensor>& p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 1e-2}); }},
      {"adam_weight_decay",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<Adam>(p, AdamOptions{.lr = 1e-2, .weight_decay = 0.1});
       }},
      {"adam_amsgrad",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<Adam>(p, AdamOptions{.lr = 1e-2, .betas = {0.8, 0.95}, .amsgrad = true});
       }},
      {"adam_low_beta1_maximize",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<Adam>(p, AdamOptions{.lr = 1e-2, .betas = {0.3, 0.9}, .maximize = true});
       }},
      {"adam_groups",
       [](const std::vector<Tensor>& p) {
         auto optimizer = std::make_unique<Adam>(std::vector<Tensor>{p[0], p[2]}, AdamOptions{.lr = 1e-2});
         optimizer->add_param_group({p[1]}, {.lr = 3e-3, .eps = 1e-6, .weight_decay = 0.05});
         return optimizer;
       }},
      {"adamw",
       [](const std::vector<Tensor>& p) {
         return std::make_unique<AdamW>(p, AdamWOptions{.lr = 1e-2, .weight_decay = 0.01});
       }},
      {"adamw_groups_amsgrad_clip",
       [](const std::vector<Tensor>& p) {
         auto optimizer = std::make_unique<AdamW>(
             std::vector<Tensor>{p[0], p[1]},
             AdamWOptions{.lr = 1e-2, .weight_decay = 0.01, .amsgrad = true, .max_grad_norm = 0.5});
         optimizer->add_param_group({p[2]}, AdamWOptions{.lr = 5e-3});
         return optimizer;
       }},
  };
}

std::vector<Tensor> fixture_params(DType dtype) {
  std::vector<Tensor> params;
  for (int k = 0; k < kParams; ++k) {
    Tensor param = optim_fixture().get("init." + std::to_string(k)).to(dtype).clone();
    param.set_requires_grad(true);
    params.push_back(param);
  }
  return params;
}

void set_fixture_grads(const std::vector<Tensor>& params, int step) {
  for (int k = 0; k < kParams; ++k) {
    Tensor grad = optim_fixture().get("grad." + std::to_string(step) + "." + std::to_string(k));
    params[k].set_grad(k == 1 && step == kSkippedStep ? Tensor() : grad.to(params[k].dtype()).clone());
  }
}

std::vector<Tensor> random_params(uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> params = {randn({9, 13}, DType::f32, &generator), randn({7}, DType::f32, &generator),
                                randn({3, 4, 5}, DType::f32, &generator)};
  for (Tensor& param : params) param.set_requires_grad(true);
  return params;
}

void set_random_grads(const std::vector<Tensor>& params, int step) {
  Generator generator(1000 + step);
  for (const Tensor& param : params) param.set_grad(randn(param.shape(), param.dtype(), &generator));
  if (step % 4 == 1) params[1].set_grad(Tensor());  // some steps without a gradient
}

bool exactly_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_vector<double>() == b.to_vector<double>();
}

}  // namespace

TEST_CASE("optimizers match torch.optim step by step in float32 and float64", "[optim][torch]") {
  std::printf("%-28s %5s %14s %14s\n", "optimizer config", "dtype", "param rel err", "update rel err");
  for (const auto& [name, make] : torch_configs()) {
    for (DType dtype : {DType::f32, DType::f64}) {
      INFO("config " << name << " in " << dtype_name(dtype));
      std::vector<Tensor> params = fixture_params(dtype);
      std::vector<Tensor> initial;
      for (const Tensor& param : params) initial.push_back(param.clone());
      std::unique_ptr<Optimizer> optimizer = make(params);
      double worst_param = 0.0, worst_update = 0.0;
      for (int step = 0; step < kSteps; ++step) {
        set_fixture_grads(params, step);
        optimizer->step();
        for (int k = 0; k < kParams; ++k) {
          Tensor expected = optim_fixture().get(name + "." + std::string(dtype_name(dtype)) + "." +
                                                std::to_string(step) + "." + std::to_string(k));
          worst_param = std::max(worst_param, relative_error(params[k], expected));
          // The error relative to the distance travelled, a much stricter measure than the above.
          Tensor initial64 = initial[k].to(DType::f64);
          worst_update = std::max(worst_update, relative_error(sub(params[k].detach().to(DType::f64), initial64),
                                                               sub(expected, initial64)));
        }
      }
      std::printf("%-28s %5s %14.3e %14.3e\n", name.c_str(), std::string(dtype_name(dtype)).c_str(), worst_param,
                  worst_update);
      CHECK(worst_param <= (dtype == DType::f32 ? 1e-6 : 1e-13));
      CHECK(worst_update <= (dtype == DType::f32 ? 1e-5 : 1e-12));
    }
  }
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ match torch.nn.utils", "[optim][torch]") {
  struct Clip {
    std::string name;
    double max_norm;
    double norm_type;
  };
  std::printf("%-28s %14s %14s\n", "clip", "total rel err", "grad rel err");
  for (const Clip& clip : {Clip{"norm2", 1.0, 2.0}, Clip{"norm2_unclipped", 1e3, 2.0},
                           Clip{"norm_inf", 0.5, kInfinityNorm}, Clip{"value", 0.3, 0.0}}) {
    INFO("clip " << clip.name);
    std::vector<Tensor> params = fixture_params(DType::f32);
    for (int k = 0; k < kParams; ++k) {
      params[k].set_grad(optim_fixture().get("grad.0." + std::to_string(k)).to(DType::f32));
    }
    double total_error = 0.0;
    if (clip.name == "value") {
      clip_grad_value_(params, 0.3);
    } else {
      double total = clip_grad_norm_(params, clip.max_norm, clip.norm_type);
      double expected = optim_fixture().get("clip." + clip.name + ".total").item();
      total_error = std::abs(total - expected) / expected;
    }
    double grad_error = 0.0;
    for (int k = 0; k < kParams; ++k) {
      grad_error = std::max(grad_error, relative_error(params[k].grad(), optim_fixture().get(
                                                                             "clip." + clip.name + ".grad." +
                                                                             std::to_string(k))));
    }
    std::printf("%-28s %14.3e %14.3e\n", clip.name.c_str(), total_error, grad_error);
    CHECK(total_error <= 1e-6);
    CHECK(grad_error <= 1e-6);
  }
}

TEST_CASE("clip_grad_norm_ edge cases", "[optim]") {
  Tensor a = zeros({3}).set_requires_grad(true);
  Tensor b = zeros({2}).set_requires_grad(true);
  SECTION("no gradients: total 0, nothing happens") { CHECK(clip_grad_norm_({a, b}, 1.0) == 0.0); }
  SECTION("norms of order 1 and 3 and the version bump") {
    a.set_grad(from_vector<float>({3, -4, 0}));
    b.set_grad(from_vector<float>({1, 2}));
    CHECK(total_grad_norm({a, b}, 1.0) == Approx(10.0));
    CHECK(total_grad_norm({a, b}, 3.0) == Approx(std::cbrt(27.0 + 64.0 + 1.0 + 8.0)));
    uint64_t version = a.grad().version();
    double total = clip_grad_norm_({a, b}, 1.0);
    CHECK(total == Approx(std::sqrt(30.0)));
    CHECK(a.grad().version() > version);
    CHECK(total_grad_norm({a, b}) == Approx(1.0).epsilon(1e-5));
  }
  SECTION("non-finite totals") {
    a.set_grad(from_vector<float>({1, INFINITY, 0}));
    REQUIRE_THROWS_WITH(clip_grad_norm_({a}, 1.0, 2.0, true), Catch::Contains("non-finite"));
    CHECK(a.grad().to_vector<float>()[1] == INFINITY);  // untouched by the failed call
    CHECK(std::isinf(clip_grad_norm_({a}, 1.0)));       // as PyTorch: scaled by 0 (inf * 0 = nan)
    CHECK(a.grad().to_vector<float>()[0] == 0.0f);
  }
  SECTION("a strided gradient is clipped in place") {
    Tensor grad = from_vector<float>({3, 0, 4, 0}, {2, 2}).t();  // non-contiguous
    Tensor c = zeros({2, 2}).set_requires_grad(true);
    c.set_grad(grad);
    clip_grad_value_({c}, 2.0);
    CHECK(c.grad().to_vector<float>() == std::vector<float>{2, 2, 0, 0});
  }
  SECTION("bad arguments") {
    a.set_grad(ones({3}));
    REQUIRE_THROWS_WITH(clip_grad_norm_({a}, -1.0), Catch::Contains("clip_grad_norm_: max_norm must be >= 0"));
    REQUIRE_THROWS_WITH(clip_grad_norm_({a}, 1.0, 0.0), Catch::Contains("clip_grad_norm_: norm_type must be > 0"));
    REQUIRE_THROWS_WITH(clip_grad_value_({a}, -0.1), Catch::Contains("clip_grad_value_: clip_value must be >= 0"));
    REQUIRE_THROWS_WITH(clip_grad_norm_({Tensor()}, 1.0), Catch::Contains("parameter 0 is an undefined tensor"));
  }
}

TEST_CASE("3 steps, checkpoint, restore into a new optimizer, 3 steps == 6 steps, bit for bit", "[optim]") {
  auto make_adam = [](const std::vector<Tensor>& p) -> std::unique_ptr<Optimizer> {
    auto optimizer = std::make_unique<Adam>(std::vector<Tensor>{p[0], p[1]}, AdamOptions{.lr = 1e-2, .amsgrad = true});
    optimizer->add_param_group({p[2]}, {.lr = 3e-3, .weight_decay = 0.1, .max_grad_norm = 0.5});
    return optimizer;
  };
  auto make_adamw = [](const std::vector<Tensor>& p) -> std::unique_ptr<Optimizer> {
    return std::make_unique<AdamW>(p, AdamWOptions{.lr = 2e-2});
  };
  auto make_sgd = [](const std::vector<Tensor>& p) -> std::unique_ptr<Optimizer> {
    auto optimizer = std::make_unique<SGD>(std::vector<Tensor>{p[0]}, SgdOptions{.lr = 0.1, .momentum = 0.9,
                                                                                 .nesterov = true});
    optimizer->add_param_group({p[1], p[2]}, {.lr = 0.05, .momentum = 0.5, .dampening = 0.2, .weight_decay = 1e-3});
    return optimizer;
  };
  for (const auto& [label, make] : std::vector<std::pair<std::string, Factory>>{
           {"Adam", make_adam}, {"AdamW", make_adamw}, {"SGD", make_sgd}}) {
    INFO(label);
    CosineWarmupSettings schedule{.warmup_steps = 2, .total_steps = 6, .min_lr = 1e-4};

    std::vector<Tensor> straight = random_params(7);
    std::unique_ptr<Optimizer> straight_optimizer = make(straight);
    CosineWarmupLR straight_scheduler(*straight_optimizer, schedule);
    for (int step = 0; step < 6; ++step) {
      set_random_grads(straight, step);
      straight_optimizer->step();
      straight_scheduler.step();
    }

    std::vector<Tensor> first = random_params(7);
    std::unique_ptr<Optimizer> first_optimizer = make(first);
    CosineWarmupLR first_scheduler(*first_optimizer, schedule);
    for (int step = 0; step < 3; ++step) {
      set_random_grads(first, step);
      first_optimizer->step();
      first_scheduler.step();
    }
    OptimizerState state = first_optimizer->state_dict();
    io::NamedTensors tensors = state.tensors;
    for (int k = 0; k < kParams; ++k) tensors.emplace_back("model." + std::to_string(k), first[k].detach());
    std::string path = temporary_path("optim_resume_" + label + ".safetensors");
    io::save_checkpoint(path, tensors, {{"optimizer", state.metadata}, {"scheduler", first_scheduler.state_dict()}});

    io::Checkpoint checkpoint = io::load_checkpoint(path);
    std::vector<Tensor> resumed;
    for (int k = 0; k < kParams; ++k) {
      resumed.push_back(checkpoint.at("model." + std::to_string(k)).clone().set_requires_grad(true));
    }
    std::unique_ptr<Optimizer> resumed_optimizer = make(resumed);
    CosineWarmupLR resumed_scheduler(*resumed_optimizer, schedule);
    resumed_optimizer->load_state_dict({checkpoint.tensors, checkpoint.metadata.at("optimizer")});
    resumed_scheduler.load_state_dict(checkpoint.metadata.at("scheduler"));
    CHECK(resumed_scheduler.last_step() == 3);
    for (int step = 3; step < 6; ++step) {
      set_random_grads(resumed, step);
      resumed_optimizer->step();
      resumed_scheduler.step();
    }
    for (int k = 0; k < kParams; ++k) {
      CHECK(exactly_equal(resumed[k], straight[k]));
      const ParamState* a = straight_optimizer->state(straight[k]);
      const ParamState* b = resumed_optimizer->state(resumed[k]);
      REQUIRE((a != nullptr) == (b != nullptr));
      if (!a) continue;
      CHECK(a->step == b->step);
      REQUIRE(a->buffers.size() == b->buffers.size());
      for (const auto& [buffer_name, buffer] : a->buffers) CHECK(exactly_equal(buffer, b->buffers.at(buffer_name)));
    }
    for (size_t g = 0; g < straight_optimizer->num_groups(); ++g) {
      CHECK(straight_optimizer->lr(g) == resumed_optimizer->lr(g));
      CHECK(straight_optimizer->initial_lr(g) == resumed_optimizer->initial_lr(g));
    }
  }
}

TEST_CASE("optimizers update the caller's tensors in place and skip parameters without gradients", "[optim]") {
  std::vector<Tensor> params = random_params(3);
  Tensor alias = params[0];  // a shallow copy sees the update
  std::vector<float> before0 = params[0].to_vector<float>(), before1 = params[1].to_vector<float>();
  uint64_t version0 = params[0].version(), version1 = params[1].version();
  Adam optimizer(params, {.lr = 0.1});
  params[0].set_grad(ones({9, 13}));
  optimizer.step();
  CHECK(alias.to_vector<float>() != before0);
  CHECK(params[0].version() > version0);
  CHECK(params[1].to_vector<float>() == before1);  // no gradient: untouched, no state
  CHECK(params[1].version() == version1);
  CHECK(optimizer.state(params[1]) == nullptr);
  REQUIRE(optimizer.state(params[0]) != nullptr);
  CHECK(optimizer.state(params[0])->step == 1);
  CHECK(params[0].grad_fn() == nullptr);  // updates are not recorded

  SECTION("zero_grad drops or zeroes the gradients") {
    optimizer.zero_grad(false);
    CHECK(params[0].grad().to_vector<float>() == std::vector<float>(9 * 13, 0.0f));
    optimizer.zero_grad();
    CHECK_FALSE(params[0].grad().defined());
  }
  SECTION("gradients from backward drive the update") {
    optimizer.zero_grad();
    auto loss_of = [&] { return (params[0] * params[0]).sum(); };
    double before = loss_of().item();
    loss_of().backward();
    optimizer.step();
    CHECK(loss_of().item() < before);
  }
}

TEST_CASE("a strided parameter is updated like a contiguous one", "[optim]") {
  Generator generator(5);
  Tensor storage = randn({6, 4}, DType::f32, &generator);
  Tensor strided = storage.t();  // a (4, 6) leaf view, not contiguous
  strided.set_requires_grad(true);
  Tensor contiguous = strided.detach().contiguous().clone().set_requires_grad(true);
  REQUIRE_FALSE(strided.is_contiguous());
  SGD a({strided}, {.lr = 0.1, .momentum = 0.9});
  SGD b({contiguous}, {.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 3; ++step) {
    Tensor grad = randn({4, 6}, DType::f32, &generator);
    strided.set_grad(grad.t().contiguous().t());  // a strided gradient too
    contiguous.set_grad(grad.clone());
    a.step();
    b.step();
  }
  CHECK(exactly_equal(strided, contiguous));
}

TEST_CASE("large parameters take the threaded path and agree with small slices", "[optim]") {
  // 200003 elements span several threads' ranges and many tiles; each element's update is
  // independent, so the result must equal updating a copy of one slice alone.
  Generator generator(11);
  Tensor big = randn({200003}, DType::f32, &generator).set_requires_grad(true);
  Tensor slice = big.detach().narrow(0, 150000, 37).clone().set_requires_grad(true);
  Adam a({big}, {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  Adam b({slice}, {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  for (int step = 0; step < 3; ++step) {
    Tensor grad = randn({200003}, DType::f32, &generator);
    big.set_grad(grad);
    slice.set_grad(grad.narrow(0, 150000, 37).clone());
    a.step();
    b.step();
  }
  CHECK(exactly_equal(big.detach().narrow(0, 150000, 37).contiguous(), slice));
}

TEST_CASE("optimizer argument errors name the group and the value", "[optim][errors]") {
  std::vector<Tensor> p = random_params(1);
  REQUIRE_THROWS_WITH(SGD(p, {.lr = -0.1}), Catch::Contains("SGD: param group 0: invalid lr -0.1"));
  REQUIRE_THROWS_WITH(SGD(p, {.lr = 0.1, .momentum = -1}), Catch::Contains("invalid momentum -1"));
  REQUIRE_THROWS_WITH(SGD(p, {.lr = 0.1, .nesterov = true}),
                      Catch::Contains("Nesterov momentum requires a momentum and zero dampening"));
  REQUIRE_THROWS_WITH(SGD(p, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                      Catch::Contains("dampening 0.1"));
  REQUIRE_THROWS_WITH(SGD(p, {.weight_decay = -1e-4}), Catch::Contains("invalid weight_decay -0.0001"));
  REQUIRE_THROWS_WITH(SGD(p, {.max_grad_norm = 0.0}), Catch::Contains("invalid max_grad_norm 0"));
  REQUIRE_THROWS_WITH(Adam(p, {.betas = {1.0, 0.999}}), Catch::Contains("Adam: param group 0: invalid betas[0] = 1"));
  REQUIRE_THROWS_WITH(Adam(p, {.betas = {0.9, -0.5}}), Catch::Contains("invalid betas[1] = -0.5"));
  REQUIRE_THROWS_WITH(Adam(p, {.eps = -1e-8}), Catch::Contains("invalid eps"));
  REQUIRE_THROWS_WITH(AdamW(p, {.lr = NAN}), Catch::Contains("AdamW: param group 0: invalid lr nan"));
  REQUIRE_THROWS_WITH(SGD({}, {}), Catch::Contains("SGD: got an empty parameter list"));

  SGD sgd({p[0]}, {.lr = 0.1});
  REQUIRE_THROWS_WITH(sgd.add_param_group({p[1], p[0]}, {.lr = 0.01}),
                      Catch::Contains("SGD: param group 1: parameter 1 is already in param group 0"));
  REQUIRE_THROWS_WITH(sgd.add_param_group({p[1], p[1]}), Catch::Contains("parameter 1 appears twice"));
  REQUIRE_THROWS_WITH(sgd.add_param_group({p[1]}, {.lr = -1}), Catch::Contains("SGD: param group 1: invalid lr -1"));
  CHECK(sgd.num_groups() == 1);  // failed additions leave nothing behind
  REQUIRE_THROWS_WITH(sgd.add_param_group({arange(3)}), Catch::Contains("has dtype i64"));
  REQUIRE_THROWS_WITH(sgd.add_param_group({p[1] * 2.0}), Catch::Contains("is not a leaf tensor"));
  REQUIRE_THROWS_WITH(sgd.add_param_group({Tensor()}), Catch::Contains("parameter 0 is an undefined tensor"));
  REQUIRE_THROWS_WITH(sgd.set_lr(0, -2.0), Catch::Contains("invalid lr -2"));
  REQUIRE_THROWS_WITH(sgd.set_lr(3, 0.1), Catch::Contains("param group 3 does not exist"));

  p[0].set_grad(randn({9, 13}, DType::f64));
  REQUIRE_THROWS_WITH(sgd.step(), Catch::Contains("SGD: param group 0, parameter 0: the gradient's dtype f64 differs"));
}

TEST_CASE("loading a mismatched optimizer state is a clear error and changes nothing", "[optim][errors]") {
  std::vector<Tensor> p = random_params(2);
  Adam adam(p, {.lr = 1e-2});
  for (int step = 0; step < 2; ++step) {
    set_random_grads(p, step);
    adam.step();
  }
  OptimizerState state = adam.state_dict();

  std::vector<Tensor> q = random_params(2);
  SECTION("another optimizer type") {
    SGD sgd(q, {.lr = 0.1, .momentum = 0.9});
    REQUIRE_THROWS_WITH(sgd.load_state_dict(state), Catch::Contains("the state was saved by Adam, not SGD"));
    AdamW adamw(q);
    REQUIRE_THROWS_WITH(adamw.load_state_dict(state), Catch::Contains("saved by Adam, not AdamW"));
  }
  SECTION("another parameter count") {
    Adam fewer({q[0], q[1]}, {.lr = 1e-2});
    REQUIRE_THROWS_WITH(fewer.load_state_dict(state),
                        Catch::Contains("param group 0 of the state has 3 parameters, this optimizer's has 2"));
  }
  SECTION("another group count") {
    Adam split({q[0], q[1]}, {.lr = 1e-2});
    split.add_param_group({q[2]});
    REQUIRE_THROWS_WITH(split.load_state_dict(state),
                        Catch::Contains("the state has 1 param groups, this optimizer has 2"));
  }
  SECTION("another shape") {
    Tensor other = zeros({13, 9}).set_requires_grad(true);
    Adam reshaped({other, q[1], q[2]}, {.lr = 1e-2});
    REQUIRE_THROWS_WITH(reshaped.load_state_dict(state),
                        Catch::Contains("param group 0, parameter 0 (index 0): the state is for shape [9, 13], the "
                                        "parameter has shape [13, 9]"));
    CHECK(reshaped.state(other) == nullptr);
  }
  SECTION("another dtype") {
    Tensor other = zeros({7}, DType::f64).set_requires_grad(true);
    Adam retyped({q[0], other, q[2]}, {.lr = 1e-2});
    REQUIRE_THROWS_WITH(retyped.load_state_dict(state),
                        Catch::Contains("the state is for dtype f32, the parameter is f64"));
  }
  SECTION("a missing or misshapen tensor") {
    Adam fresh(q, {.lr = 0.5});
    OptimizerState broken = state;
    broken.tensors.pop_back();
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("is missing"));
    broken = state;
    broken.tensors[0].second = zeros({2});
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken),
                        Catch::Contains("has shape [2], its parameter has shape [9, 13]"));
    broken = state;
    broken.metadata["param_groups"][0]["options"]["betas"] = {0.9, 1.5};
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("invalid betas[1] = 1.5"));
    broken = state;
    broken.metadata["param_groups"][0]["options"].erase("eps");
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("the saved options have no 'eps'"));
    broken = state;
    broken.metadata["param_groups"][0]["options"]["lr"] = "fast";
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("the saved option 'lr' has the wrong type"));
    broken = state;
    broken.metadata["format"] = "one";
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("Adam.load_state_dict: malformed state metadata"));
    broken = state;
    broken.metadata["state"]["0"]["step"] = -3;
    REQUIRE_THROWS_WITH(fresh.load_state_dict(broken), Catch::Contains("the state of parameter 0 is malformed"));
    CHECK(fresh.lr(0) == 0.5);  // nothing changed
    CHECK(fresh.state(q[0]) == nullptr);
    REQUIRE_THROWS_WITH(fresh.load_state_dict({state.tensors, nlohmann::json::array()}),
                        Catch::Contains("not an optimizer state"));
  }
}

}  // namespace qatd
