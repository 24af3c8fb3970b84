// BitController: sites, clamping in place, integer casting, gradient flow, freezing, the annealing
// schedule, and saving as JSON and inside checkpoints.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "engine/engine.h"
#include "engine/optim/optim.h"
#include "quant/bit_controller.h"
#include "tests/test_support.h"

namespace qatd::quant {
namespace {

BitController three_sites() {
  BitController controller;
  controller.add_site("blocks.0.mlp.weight", 4.0, 2.0, 8.0);
  controller.add_site("blocks.1.mlp.weight", 6.0, 3.0, 6.0);
  controller.add_site("head.output", 8.0, 4.0, 16.0);
  return controller;
}

void set_values(BitController& controller, const std::vector<double>& values) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < values.size(); ++i) {
    Tensor bits = controller.bits(i);
    bits.fill_(values[i]);
  }
}

}  // namespace

TEST_CASE("BitController holds one f32 leaf per site that requires grad, by name and index", "[quant]") {
  BitController controller = three_sites();
  REQUIRE(controller.size() == 3);
  CHECK(controller.names() == std::vector<std::string>{"blocks.0.mlp.weight", "blocks.1.mlp.weight", "head.output"});
  CHECK(controller.index("head.output") == 2);
  for (size_t i = 0; i < controller.size(); ++i) {
    const Tensor& bits = controller.bits(i);
    CHECK(bits.dtype() == DType::f32);
    CHECK(bits.numel() == 1);
    CHECK(bits.is_leaf());
    CHECK(bits.requires_grad());
    CHECK(controller.bits(controller.names()[i]).is_same(bits));
    CHECK(controller.parameters()[i].is_same(bits));
  }
  CHECK(controller.value(1) == 6.0);
  CHECK(controller.bits_min(1) == 3.0);
  CHECK(controller.bits_max(2) == 16.0);

  REQUIRE_THROWS_WITH(controller.index("blocks.0.mlp.weigth"),
                      Catch::Contains("no site 'blocks.0.mlp.weigth'") && Catch::Contains("blocks.0.mlp.weight"));
  REQUIRE_THROWS_WITH(controller.add_site("head.output", 4, 2, 8), Catch::Contains("'head.output' is already present"));
  REQUIRE_THROWS_WITH(controller.add_site("x", 4, 6, 5), Catch::Contains("site 'x'") && Catch::Contains("bits_min 6"));
  REQUIRE_THROWS_WITH(controller.add_site("y", 9, 2, 8), Catch::Contains("site 'y'") && Catch::Contains("bits_init 9"));
  REQUIRE_THROWS_WITH(controller.add_site("z", 4, 0.5, 8), Catch::Contains("site 'z'"));
  REQUIRE_THROWS_WITH(controller.add_site("w", 4, 2, 17), Catch::Contains("site 'w'"));
  CHECK(controller.size() == 3);
}

TEST_CASE("BitController casts round(clamp(b)) and clamps in place after an optimizer step", "[quant]") {
  BitController controller = three_sites();
  set_values(controller, {2.4, 5.6, 3.2});
  CHECK(controller.integer_bits(0) == 2);
  CHECK(controller.integer_bits(1) == 6);
  CHECK(controller.integer_bits(2) == 4);  // 3.2 clamps to bits_min 4 before rounding
  set_values(controller, {9.7, 4.5, 11.49});
  CHECK(controller.integer_bits() == std::map<std::string, int64_t>{{"blocks.0.mlp.weight", 8},
                                                                    {"blocks.1.mlp.weight", 5},
                                                                    {"head.output", 11}});

  // An optimizer step pushes b outside its range; clamp_ brings it back without replacing the
  // tensors, so Adam's state stays attached and the next step continues from it.
  set_values(controller, {4.0, 6.0, 8.0});
  std::vector<Tensor> handles = controller.parameters();
  optim::Adam adam(controller.parameters(), {.lr = 10.0});
  Tensor loss = (controller.stacked() * from_vector<float>({1.0f, -1.0f, 1.0f})).sum();
  loss.backward();
  adam.step();
  CHECK(controller.value(0) < 2.0);   // 4 - 10
  CHECK(controller.value(1) > 6.0);   // 6 + 10
  CHECK(controller.value(2) < 4.0);
  std::vector<uint64_t> versions;
  for (const Tensor& bits : handles) versions.push_back(bits.version());
  controller.clamp_();
  CHECK(controller.value(0) == 2.0);
  CHECK(controller.value(1) == 6.0);
  CHECK(controller.value(2) == 4.0);
  for (size_t i = 0; i < handles.size(); ++i) {
    CHECK(controller.bits(i).is_same(handles[i]));
    CHECK(controller.bits(i).version() > versions[i]);
    CHECK(controller.bits(i).requires_grad());
    REQUIRE(adam.state(controller.bits(i)) != nullptr);
    CHECK(adam.state(controller.bits(i))->step == 1);
  }
  adam.zero_grad();
  (controller.stacked() * from_vector<float>({1.0f, -1.0f, 1.0f})).sum().backward();
  adam.step();
  CHECK(adam.state(controller.bits(0))->step == 2);
}

TEST_CASE("BitController's stacked bits carry the gradient to every b_i", "[quant]") {
  BitController controller = three_sites();
  Tensor weights = from_vector<float>({0.5f, -2.0f, 3.0f});
  Tensor loss = (controller.stacked() * weights).sum();
  REQUIRE(loss.requires_grad());
  loss.backward();
  for (size_t i = 0; i < controller.size(); ++i) {
    REQUIRE(controller.bits(i).grad().defined());
    CHECK(controller.bits(i).grad().item() == weights.to_vector<float>()[i]);
  }
}

TEST_CASE("BitController freeze rounds and stops gradients; unfreeze resumes", "[quant]") {
  BitController controller = three_sites();
  set_values(controller, {3.4, 4.6, 12.5});
  (controller.stacked().sum()).backward();
  controller.freeze();
  CHECK(controller.frozen());
  CHECK(controller.value(0) == 3.0);
  CHECK(controller.value(1) == 5.0);
  CHECK(controller.value(2) == 13.0);  // halves round up, as the forward does
  for (const Tensor& bits : controller.parameters()) {
    CHECK_FALSE(bits.requires_grad());
    CHECK_FALSE(bits.grad().defined());
  }
  CHECK_FALSE(controller.stacked().requires_grad());
  controller.add_site("late.weight", 4, 2, 8);
  CHECK_FALSE(controller.bits(3).requires_grad());

  controller.unfreeze();
  CHECK_FALSE(controller.frozen());
  for (const Tensor& bits : controller.parameters()) CHECK(bits.requires_grad());
  CHECK(controller.value(1) == 5.0);
}

TEST_CASE("BitSchedule lowers the bit ceiling linearly and warms the penalty up", "[quant]") {
  BitSchedule schedule{.start_step = 10, .steps = 100, .ceiling_start = 8, .ceiling_end = 4,
                       .penalty_warmup_steps = 20};
  CHECK(schedule.ceiling(0) == 8.0);
  CHECK(schedule.ceiling(10) == 8.0);
  CHECK(schedule.ceiling(60) == Approx(6.0).epsilon(1e-12));
  CHECK(schedule.ceiling(110) == 4.0);
  CHECK(schedule.ceiling(1000) == 4.0);
  CHECK(schedule.penalty_scale(5) == 0.0);
  CHECK(schedule.penalty_scale(20) == Approx(0.5).epsilon(1e-12));
  CHECK(schedule.penalty_scale(30) == 1.0);
  CHECK(std::isinf(BitSchedule{}.ceiling(5)));
  CHECK(BitSchedule{}.penalty_scale(0) == 1.0);

  BitController controller = three_sites();
  CHECK(std::isinf(controller.bits_ceiling()));
  CHECK(controller.penalty_scale() == 1.0);
  controller.set_schedule(schedule);
  controller.set_step(60);
  CHECK(controller.bits_ceiling() == Approx(6.0));
  CHECK(controller.effective_max(0) == Approx(6.0));
  CHECK(controller.effective_max(1) == 6.0);
  CHECK(controller.effective_max(2) == Approx(6.0));
  controller.set_step(200);
  CHECK(controller.effective_max(1) == 4.0);
  CHECK(controller.effective_max(2) == 4.0);  // never below the site's bits_min of 4
  controller.clamp_();
  CHECK(controller.value(0) == 4.0);
  CHECK(controller.value(1) == 4.0);
  CHECK(controller.value(2) == 4.0);

  REQUIRE_THROWS_WITH(controller.set_schedule(BitSchedule{.steps = 10, .ceiling_start = 20}),
                      Catch::Contains("ceilings must lie in [1, 16]"));
  REQUIRE_THROWS_WITH(controller.set_step(-1), Catch::Contains("non-negative"));
}

TEST_CASE("BitController saves and loads JSON, rejecting unknown, missing and mismatched sites", "[quant]") {
  BitController source = three_sites();
  set_values(source, {3.3f, 5.123456f, 9.75f});
  nlohmann::json document = source.to_json();
  CHECK(document["blocks.1.mlp.weight"]["min"] == 3.0);
  CHECK(document["blocks.1.mlp.weight"]["max"] == 6.0);
  std::string path = testing::temporary_path("bit_controller.json");
  source.save_json_file(path);

  BitController target = three_sites();
  std::vector<Tensor> handles = target.parameters();
  target.load_json_file(path);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(target.value(i) == source.value(i));  // bit-exact through JSON
    CHECK(target.bits(i).is_same(handles[i]));
  }

  nlohmann::json renamed = document;
  renamed["blocks.9.mlp.weight"] = renamed["blocks.0.mlp.weight"];
  renamed.erase("blocks.0.mlp.weight");
  renamed.erase("head.output");
  REQUIRE_THROWS_WITH(target.load_json(renamed, "bits.json"),
                      Catch::Contains("bits.json") && Catch::Contains("unknown sites (1): blocks.9.mlp.weight") &&
                          Catch::Contains("missing sites (2): blocks.0.mlp.weight, head.output"));
  nlohmann::json bad = document;
  bad["head.output"]["max"] = 12;
  bad["blocks.0.mlp.weight"]["bitz"] = 1;
  bad["blocks.1.mlp.weight"]["bits"] = 7.5;
  REQUIRE_THROWS_WITH(target.load_json(bad),
                      Catch::Contains("head.output: saved range [4, 12] differs from this controller's [4, 16]") &&
                          Catch::Contains("unknown key 'bitz'") &&
                          Catch::Contains("blocks.1.mlp.weight: saved bits 7.5 lie outside [3, 6]"));
  CHECK(target.value(0) == source.value(0));  // a failed load changes nothing
}

TEST_CASE("BitController state round-trips through a checkpoint with the values bit for bit", "[quant]") {
  BitController source = three_sites();
  set_values(source, {2.0001, 5.999, 15.5});
  BitState state = source.state_dict();
  REQUIRE(state.tensors.size() == 3);
  CHECK(state.tensors[0].first == "bits.blocks.0.mlp.weight");
  std::string path = testing::temporary_path("bit_controller.safetensors");
  io::NamedTensors tensors = state.tensors;
  tensors.emplace_back("model.weight", ones({2, 2}));  // a checkpoint holds more than the bits
  io::save_checkpoint(path, tensors, {{"bits", state.metadata}});

  io::Checkpoint checkpoint = io::load_checkpoint(path);
  BitController target = three_sites();
  target.load_state_dict({checkpoint.tensors, checkpoint.metadata.at("bits")});
  for (size_t i = 0; i < 3; ++i) CHECK(target.value(i) == source.value(i));

  io::NamedTensors extra = checkpoint.tensors;
  extra.emplace_back("bits.extra.output", ones({1}));
  REQUIRE_THROWS_WITH(target.load_state_dict({extra, checkpoint.metadata.at("bits")}),
                      Catch::Contains("unknown sites (1): extra.output"));
  io::NamedTensors fewer(checkpoint.tensors.begin() + 1, checkpoint.tensors.end());
  REQUIRE_THROWS_WITH(target.load_state_dict({fewer, checkpoint.metadata.at("bits")}),
                      Catch::Contains("missing sites (1): blocks.0.mlp.weight"));
}

}  // namespace qatd::quant
