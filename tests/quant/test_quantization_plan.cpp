// Quantization plans: patterns, the [quant] TOML section, per-site overrides, the report, removal
// restoring the float model bit for bit, and the errors a bad plan gives.
#include <catch2/catch.hpp>

#include <cstdio>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "quant/quantization_plan.h"
#include "tests/test_support.h"

namespace qatd::quant {
namespace {

// trunk.blocks.{0,1,2} each with norm (LayerNorm) and mlp.layers.{0,1} (Linear), then head (Linear).
class Block : public nn::UnaryModule {
 public:
  explicit Block(Generator* generator) {
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{6}));
    mlp = register_module("mlp", std::make_shared<nn::MLP>(6, 12, 6, 2, nn::Activation::gelu, false, generator));
  }
  Tensor forward(const Tensor& x) override { return x + (*mlp)((*norm)(x)); }
  std::string type_name() const override { return "Block"; }
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::MLP> mlp;
};

class Trunk : public nn::UnaryModule {
 public:
  explicit Trunk(Generator* generator) {
    blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int i = 0; i < 3; ++i) blocks->append(std::make_shared<Block>(generator));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = x;
    for (size_t i = 0; i < blocks->size(); ++i) y = blocks->at<Block>(i)(y);
    return y;
  }
  std::string type_name() const override { return "Trunk"; }
  std::shared_ptr<nn::ModuleList> blocks;
};

class Net : public nn::UnaryModule {
 public:
  explicit Net(uint64_t seed) : generator(seed) {
    trunk = register_module("trunk", std::make_shared<Trunk>(&generator));
    head = register_module("head", std::make_shared<nn::Linear>(6, 3, true, &generator));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*trunk)(x)); }
  std::string type_name() const override { return "Net"; }
  Generator generator;
  std::shared_ptr<Trunk> trunk;
  std::shared_ptr<nn::Linear> head;
};

// Conv2d then ConvTranspose2d, for the channel-axis defaults.
class ConvNet : public nn::UnaryModule {
 public:
  explicit ConvNet(uint64_t seed) : generator(seed) {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 4, std::array<int64_t, 2>{3, 3},
                                                                Conv2dOptions{}, true, &generator));
    up = register_module("up", std::make_shared<nn::ConvTranspose2d>(4, 3, std::array<int64_t, 2>{2, 2},
                                                                     ConvTranspose2dOptions{}, true, &generator));
  }
  Tensor forward(const Tensor& x) override { return (*up)((*conv)(x)); }
  std::string type_name() const override { return "ConvNet"; }
  Generator generator;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::ConvTranspose2d> up;
};

std::vector<float> values_of(const Tensor& tensor) { return tensor.contiguous().to_vector<float>(); }

}  // namespace

TEST_CASE("plan patterns: * is one dotted component, ** any number of them", "[quant]") {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  const std::vector<Case> cases = {
      {"image_encoder.trunk.blocks.*.mlp.layers.*", "image_encoder.trunk.blocks.3.mlp.layers.0", true},
      {"image_encoder.trunk.blocks.*.mlp.layers.*", "image_encoder.trunk.blocks.3.mlp.layers", false},
      {"image_encoder.trunk.blocks.*.mlp.layers.*", "image_encoder.trunk.blocks.3.x.mlp.layers.0", false},
      {"blocks.*", "blocks", false},
      {"*", "head", true},
      {"*", "trunk.blocks", false},
      {"**", "trunk.blocks.0.mlp", true},
      {"trunk.**", "trunk", true},
      {"trunk.**", "trunk.blocks.2.mlp.layers.1", true},
      {"trunk.**", "trunker", false},
      {"**.layers.*", "trunk.blocks.1.mlp.layers.0", true},
      {"**.layers.*", "layers.0", true},
      {"**.mlp.**", "trunk.blocks.1.mlp", true},
      {"trunk.**.layers.1", "trunk.blocks.0.mlp.layers.1", true},
      {"trunk.**.layers.1", "trunk.blocks.0.mlp.layers.0", false},
      {"layers_*", "layers_12", true},
      {"*_proj", "q_proj", true},
      {"*_proj", "q_proj.x", false},
      {"a*b*c", "aXXbYc", true},
      {"a*b*c", "aXXbY", false},
      {"head", "head", true},
      {"head", "", false},
  };
  for (const Case& c : cases) {
    INFO(c.pattern << " vs " << c.name);
    CHECK(match_pattern(c.pattern, c.name) == c.match);
  }
}

TEST_CASE("the [quant] TOML section reads defaults, rules and the annealing schedule", "[quant]") {
  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[model]
name = "ignored"

[quant]
defaults = { surrogate = "interp", bits_min = 3 }

[[quant.rules]]
pattern = "trunk.blocks.*.mlp.layers.*"
weights = true
granularity = "per_channel"
bits_init = 6
scale_source = "learned"

[[quant.rules]]
pattern = "**"
types = ["Linear"]
outputs = true
symmetric = false
signed = false
scale_source = "moving_average"
averaging_constant = 0.1
channel_axis = -1
percentile = 99.5
bits_max = 8.0

[quant.anneal]
start_step = 5
steps = 100
ceiling_start = 8
ceiling_end = 4
penalty_warmup_steps = 50
)",
                                                           "plan.toml");
  CHECK(plan.source == "plan.toml");
  CHECK(plan.defaults.surrogate == Surrogate::interp);
  CHECK(plan.defaults.bits_min == 3.0);
  REQUIRE(plan.rules.size() == 2);
  CHECK(plan.rules[0].pattern == "trunk.blocks.*.mlp.layers.*");
  CHECK(plan.rules[0].weights == true);
  CHECK_FALSE(plan.rules[0].outputs.has_value());
  CHECK(plan.rules[0].settings.granularity == Granularity::per_channel);
  CHECK(plan.rules[0].settings.bits_init == 6.0);
  CHECK(plan.rules[0].settings.scale_source == ScaleSource::learned);
  CHECK(plan.rules[1].types == std::vector<std::string>{"Linear"});
  CHECK(plan.rules[1].outputs == true);
  CHECK(plan.rules[1].settings.symmetric == false);
  CHECK(plan.rules[1].settings.is_signed == false);
  CHECK(plan.rules[1].settings.averaging_constant == 0.1);
  CHECK(plan.rules[1].settings.channel_axis == -1);
  CHECK(plan.rules[1].settings.percentile == 99.5);
  REQUIRE(plan.schedule.has_value());
  CHECK(plan.schedule->start_step == 5);
  CHECK(plan.schedule->ceiling_end == 4.0);
  CHECK(plan.schedule->penalty_warmup_steps == 50);
}

TEST_CASE("the [quant] TOML section names unknown keys, bad values and missing pieces", "[quant]") {
  auto error_of = [](const std::string& text) {
    try {
      QuantizationPlan::from_toml_text(text, "cfg.toml");
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::string rule = "[[quant.rules]]\npattern = \"head\"\nweights = true\n";
  CHECK_THAT(error_of("[model]\n"), Catch::Contains("cfg.toml: no [quant] section"));
  CHECK_THAT(error_of("[quant]\n"), Catch::Contains("has no rules"));
  CHECK_THAT(error_of(rule + "bitz_max = 4\n"),
             Catch::Contains("[[quant.rules]] #1") && Catch::Contains("unknown key 'bitz_max'") &&
                 Catch::Contains("did you mean 'bits_max'"));
  CHECK_THAT(error_of("[quant]\nrule = 1\n"), Catch::Contains("unknown key 'rule'") &&
                                                 Catch::Contains("did you mean 'rules'"));
  CHECK_THAT(error_of("[quant.defaults]\ngranularty = \"per_tensor\"\n" + rule),
             Catch::Contains("[quant.defaults]") && Catch::Contains("did you mean 'granularity'"));
  CHECK_THAT(error_of("[quant.anneal]\nstepz = 3\n" + rule),
             Catch::Contains("[quant.anneal]") && Catch::Contains("did you mean 'steps'"));
  CHECK_THAT(error_of("[quant.anneal]\nsteps = 3\nceiling_end = 0.5\n" + rule), Catch::Contains("[1, 16]"));
  CHECK_THAT(error_of(rule + "granularity = \"per_chanel\"\n"),
             Catch::Contains("'granularity'") && Catch::Contains("per_channel"));
  CHECK_THAT(error_of(rule + "surrogate = \"sigmoid\"\n"), Catch::Contains("ste") && Catch::Contains("interp"));
  CHECK_THAT(error_of(rule + "symmetric = \"yes\"\n"), Catch::Contains("'symmetric' must be true or false"));
  CHECK_THAT(error_of(rule + "bits_max = \"8\"\n"), Catch::Contains("'bits_max' must be a number"));
  CHECK_THAT(error_of(rule + "channel_axis = 1.5\n"), Catch::Contains("'channel_axis' must be an integer"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\n"),
             Catch::Contains("#1") && Catch::Contains("sets neither 'weights' nor 'outputs'"));
  CHECK_THAT(error_of("[[quant.rules]]\nweights = true\n"), Catch::Contains("needs a non-empty 'pattern'"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\nweights = false\nbits_max = 4\n"),
             Catch::Contains("only removes sites"));
  CHECK_THAT(error_of("[quant\n"), Catch::Contains("cfg.toml: TOML error at line 1"));
  REQUIRE_THROWS_WITH(QuantizationPlan::from_toml_file("/nonexistent/plan.toml"),
                      Catch::Contains("/nonexistent/plan.toml"));
}

TEST_CASE("apply_plan creates named sites; later rules override earlier ones key by key", "[quant]") {
  Net net(3);
  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[quant]
defaults = { bits_min = 3 }
[[quant.rules]]
pattern = "trunk.blocks.*.mlp.layers.*"
weights = true
bits_init = 6
granularity = "per_channel"
[[quant.rules]]
pattern = "trunk.blocks.1.**"
types = "Linear"
weights = true
bits_max = 7
surrogate = "interp"
[[quant.rules]]
pattern = "trunk.blocks.2.mlp.layers.1"
weights = false
[[quant.rules]]
pattern = "*"
types = ["Linear"]
weights = true
outputs = true
symmetric = false
)");
  QuantizedModel quantized = apply_plan(net, plan);
  std::vector<std::string> expected = {"trunk.blocks.0.mlp.layers.0.weight", "trunk.blocks.0.mlp.layers.1.weight",
                                       "trunk.blocks.1.mlp.layers.0.weight", "trunk.blocks.1.mlp.layers.1.weight",
                                       "trunk.blocks.2.mlp.layers.0.weight", "head.weight",
                                       "head.output"};
  CHECK(quantized.site_names() == expected);
  CHECK(quantized.bits().names() == expected);

  const QuantSite& first = quantized.site("trunk.blocks.0.mlp.layers.0.weight");
  CHECK(first.kind == SiteKind::weight);
  CHECK(first.module_type == "Linear");
  CHECK(first.spec.granularity == Granularity::per_channel);
  CHECK(first.spec.channel_axis == 0);
  CHECK(first.spec.bits_init == 6.0);
  CHECK(first.spec.bits_min == 3.0);
  CHECK(first.spec.bits_max == 8.0);
  CHECK(first.spec.surrogate == Surrogate::ste);
  CHECK(first.rules == std::vector<size_t>{0});
  CHECK(first.weight.is_same(net.trunk->blocks->at<Block>(0).mlp->layers->at<nn::Linear>(0).weight));
  CHECK(first.quantizer->bits.is_same(quantized.bits().bits(0)));

  const QuantSite& overridden = quantized.site("trunk.blocks.1.mlp.layers.1.weight");
  CHECK(overridden.spec.granularity == Granularity::per_channel);  // from rule 1, untouched by rule 2
  CHECK(overridden.spec.bits_init == 6.0);
  CHECK(overridden.spec.bits_max == 7.0);
  CHECK(overridden.spec.surrogate == Surrogate::interp);
  CHECK(overridden.rules == std::vector<size_t>{0, 1});
  CHECK(quantized.bits().bits_max(3) == 7.0);

  const QuantSite& head = quantized.site("head.weight");
  CHECK(head.spec.granularity == Granularity::per_tensor);
  CHECK_FALSE(head.spec.symmetric);
  const QuantSite& output = quantized.site("head.output");
  CHECK(output.kind == SiteKind::output);
  CHECK_FALSE(output.weight.defined());
  CHECK(output.spec.channel_axis == -1);
  CHECK(output.hook >= 0);
  REQUIRE_THROWS_WITH(quantized.site("head.outputs"), Catch::Contains("did you mean 'head.output'"));

  CHECK(net.head->has_parameter_transform("weight"));
  CHECK_FALSE(net.trunk->blocks->at<Block>(2).mlp->layers->at<nn::Linear>(1).has_parameter_transform("weight"));
}

TEST_CASE("apply_plan's default channel axes follow each layer's output channels", "[quant]") {
  ConvNet net(5);
  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[quant]
[[quant.rules]]
pattern = "*"
weights = true
outputs = true
granularity = "per_channel"
)");
  QuantizedModel quantized = apply_plan(net, plan);
  CHECK(quantized.site("conv.weight").spec.channel_axis == 0);
  CHECK(quantized.site("up.weight").spec.channel_axis == 1);  // ConvTranspose2d: (in, out / groups, kH, kW)
  CHECK(quantized.site("conv.output").spec.channel_axis == 1);
  CHECK(quantized.site("up.output").spec.channel_axis == 1);
}

TEST_CASE("apply_plan rejects unmatched patterns, weightless modules, bad ranges and double application",
          "[quant]") {
  Net net(4);
  auto error_of = [&](const std::string& text) {
    try {
      apply_plan(net, QuantizationPlan::from_toml_text(text, "bad.toml"));
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"trunk.block.*.mlp\"\noutputs = true\n"),
             Catch::Contains("bad.toml: rule #1 (pattern 'trunk.block.*.mlp')") &&
                 Catch::Contains("matches no module"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\noutputs = true\n"
                      "[[quant.rules]]\npattern = \"trunk.**\"\ntypes = [\"Conv2d\"]\nweights = true\n"),
             Catch::Contains("rule #2") && Catch::Contains("types [Conv2d]") && Catch::Contains("matches no module"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"trunk.blocks.*.norm\"\nweights = true\n"),
             Catch::Contains("module 'trunk.blocks.0.norm' (LayerNorm)") &&
                 Catch::Contains("no quantizable weight"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\nweights = true\nbits_min = 6\nbits_max = 4\n"
                      "bits_init = 5\n"),
             Catch::Contains("site 'head.weight'") && Catch::Contains("bits_min 6 is greater than bits_max 4"));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\nweights = true\nbits_init = 12\n"),
             Catch::Contains("site 'head.weight'") && Catch::Contains("bits_init 12"));
  // Every failure above left the model untouched.
  for (auto& [name, module] : net.named_modules()) CHECK_FALSE(module->has_parameter_transform("weight"));

  QuantizedModel first = apply_plan(net, QuantizationPlan::uniform_weights(4, true));
  CHECK_THAT(error_of("[[quant.rules]]\npattern = \"head\"\nweights = true\n"),
             Catch::Contains("the weight of 'head' already has a parameter transform"));
}

TEST_CASE("apply_plan quantizes, set_enabled toggles, and remove restores the float model bit for bit",
          "[quant]") {
  Net net(7);
  Generator generator(11);
  Tensor x = randn({5, 6}, DType::f32, &generator);
  Tensor reference;
  {
    NoGradGuard no_grad;
    reference = net(x);
  }
  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[quant]
[[quant.rules]]
pattern = "**"
types = ["Linear"]
weights = true
outputs = true
bits_init = 3
)");
  QuantizedModel quantized = apply_plan(net, plan);
  Tensor fake_quantized = net(x);
  double change = testing::report_difference("3-bit fake quantization vs float (must differ)", fake_quantized,
                                             reference);
  CHECK(change > 1e-3);
  CHECK(fake_quantized.requires_grad());

  quantized.set_enabled(false);
  CHECK_FALSE(quantized.enabled());
  CHECK(values_of(net(x)) == values_of(reference));
  quantized.set_enabled(true);
  CHECK(values_of(net(x)) == values_of(fake_quantized));

  quantized.remove();
  CHECK(quantized.removed());
  CHECK(values_of(net(x)) == values_of(reference));
  for (auto& [name, module] : net.named_modules()) CHECK_FALSE(module->has_parameter_transform("weight"));
  quantized.remove();  // a second removal does nothing
  QuantizedModel again = apply_plan(net, plan);  // and the plan applies afresh
  CHECK(again.sites().size() == quantized.sites().size());
}

TEST_CASE("the plan report lists every site with its settings, as a table and as JSON", "[quant]") {
  Net net(8);
  QuantizedModel quantized = apply_plan(net, QuantizationPlan::from_toml_text(R"(
[quant]
[[quant.rules]]
pattern = "trunk.blocks.0.mlp.layers.*"
weights = true
granularity = "per_channel"
scale_source = "percentile"
percentile = 99.9
bits_init = 5
[[quant.rules]]
pattern = "head"
outputs = true
symmetric = false
signed = false
scale_source = "moving_average"
averaging_constant = 0.05
surrogate = "interp"
)"));
  std::string table = quantized.report();
  std::printf("%s", table.c_str());
  CHECK_THAT(table, Catch::Contains("site") && Catch::Contains("granularity") && Catch::Contains("surrogate"));
  CHECK_THAT(table, Catch::Contains("trunk.blocks.0.mlp.layers.0.weight") &&
                        Catch::Contains("trunk.blocks.0.mlp.layers.1.weight") && Catch::Contains("head.output"));
  CHECK_THAT(table, Catch::Contains("[12, 6]") && Catch::Contains("per_channel(0)") &&
                        Catch::Contains("percentile(99.9)") && Catch::Contains("moving_average(0.05)") &&
                        Catch::Contains("asym unsigned") && Catch::Contains("interp") && Catch::Contains("5.000"));
  CHECK_THAT(table, Catch::Contains("3 sites (2 weights, 1 outputs)"));

  nlohmann::json report = quantized.report_json();
  REQUIRE(report.size() == 3);
  CHECK(report[0]["site"] == "trunk.blocks.0.mlp.layers.0.weight");
  CHECK(report[0]["type"] == "Linear");
  CHECK(report[0]["kind"] == "weight");
  CHECK(report[0]["granularity"] == "per_channel");
  CHECK(report[0]["channel_axis"] == 0);
  CHECK(report[0]["percentile"] == 99.9);
  CHECK(report[0]["bits"] == 5.0);
  CHECK(report[0]["integer_bits"] == 5);
  CHECK(report[0]["shape"] == std::vector<int64_t>{12, 6});
  CHECK(report[0]["rules"] == std::vector<int>{1});
  CHECK(report[2]["site"] == "head.output");
  CHECK(report[2]["kind"] == "output");
  CHECK(report[2]["symmetric"] == false);
  CHECK(report[2]["signed"] == false);
  CHECK(report[2]["scale_source"] == "moving_average");
  CHECK(report[2]["averaging_constant"] == 0.05);
  CHECK(report[2]["surrogate"] == "interp");
  CHECK_FALSE(report[2].contains("shape"));
}

TEST_CASE("uniform_weights quantizes every Linear, Conv2d and ConvTranspose2d weight at fixed bits", "[quant]") {
  ConvNet conv_net(2);
  QuantizedModel quantized = apply_plan(conv_net, QuantizationPlan::uniform_weights(6, false));
  CHECK(quantized.site_names() == std::vector<std::string>{"conv.weight", "up.weight"});
  for (const QuantSite& site : quantized.sites()) {
    CHECK(site.spec.bits_min == 6.0);
    CHECK(site.spec.bits_max == 6.0);
    CHECK(site.spec.granularity == Granularity::per_tensor);
    CHECK(site.spec.symmetric);
    CHECK(site.spec.is_signed);
  }
  REQUIRE_THROWS_WITH(QuantizationPlan::uniform_weights(0, true), Catch::Contains("[1, 16]"));
}

TEST_CASE("quantizer state (steps, observer buffers) round-trips as named tensors", "[quant]") {
  Net net(9);
  Generator generator(2);
  Tensor x = randn({4, 6}, DType::f32, &generator);
  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[quant]
[[quant.rules]]
pattern = "**"
types = "Linear"
weights = true
outputs = true
scale_source = "moving_average"
)");
  QuantizedModel source = apply_plan(net, plan);
  net(x);
  io::NamedTensors state = source.quantizer_state();
  REQUIRE_FALSE(state.empty());
  for (const auto& [name, tensor] : state) CHECK(name.rfind("quant.", 0) == 0);
  std::string path = testing::temporary_path("quantizer_state.safetensors");
  io::save_checkpoint(path, state, {{"kind", "quantizer state"}});
  source.remove();

  Net other(9);
  QuantizedModel target = apply_plan(other, plan);
  other(randn({4, 6}, DType::f32, &generator) * 3.0);  // different observations first
  target.load_quantizer_state(io::load_checkpoint(path).tensors);
  io::NamedTensors loaded = target.quantizer_state();
  REQUIRE(loaded.size() == state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    CHECK(loaded[i].first == state[i].first);
    CHECK(values_of(loaded[i].second) == values_of(state[i].second));
  }

  io::NamedTensors unknown = state;
  unknown.emplace_back("quant.trunk.blocks.9.mlp.layers.0.weight.running_min", zeros({1}));
  REQUIRE_THROWS_WITH(target.load_quantizer_state(unknown),
                      Catch::Contains("unexpected") && Catch::Contains("quant.trunk.blocks.9.mlp.layers.0.weight"));
  io::NamedTensors missing(state.begin() + 1, state.end());
  REQUIRE_THROWS_WITH(target.load_quantizer_state(missing), Catch::Contains("missing") &&
                                                                Catch::Contains(state.front().first));
}

}  // namespace qatd::quant
