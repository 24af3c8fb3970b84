// Integer export: integer dtypes and ranges, scale and zero-point shapes, metadata, dequantization
// equal to the fake-quant forward bit for bit (on a tiny model and on the SAM 2 micro model), and
// `qatd export`'s errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_image_predictor.h"
#include "quant/integer_export.h"
#include "tests/quant/qatd_cli.h"
#include "tests/test_support.h"

namespace qatd::quant {
namespace {

// conv (Conv2d) -> up (ConvTranspose2d) -> head (Linear over channels) -> norm, and a float buffer.
class TinyNet : public nn::UnaryModule {
 public:
  explicit TinyNet(uint64_t seed) : generator(seed) {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 4, std::array<int64_t, 2>{3, 3}, Conv2dOptions{},
                                                                true, &generator));
    up = register_module("up", std::make_shared<nn::ConvTranspose2d>(4, 3, std::array<int64_t, 2>{2, 2},
                                                                     ConvTranspose2dOptions{}, true, &generator));
    head = register_module("head", std::make_shared<nn::Linear>(3, 5, true, &generator));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{5}));
    offset = randn({5}, DType::f32, &generator);
    register_buffer("offset", offset);
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = (*up)((*conv)(x)).permute({0, 2, 3, 1});
    return (*norm)((*head)(y)) + offset;
  }
  std::string type_name() const override { return "TinyNet"; }
  Generator generator;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::ConvTranspose2d> up;
  std::shared_ptr<nn::Linear> head;
  std::shared_ptr<nn::LayerNorm> norm;
  Tensor offset;
};

// Float32 values compared by bit pattern (-0.0 against 0.0 is a mismatch too).
struct BitComparison {
  int64_t values = 0;
  int64_t mismatches = 0;
  void add(const Tensor& ours, const Tensor& reference) {
    REQUIRE(ours.dtype() == DType::f32);
    REQUIRE(reference.dtype() == DType::f32);
    REQUIRE(ours.shape() == reference.shape());
    const std::vector<float> a = ours.contiguous().to_vector<float>(), b = reference.contiguous().to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) {
      uint32_t x, y;
      std::memcpy(&x, &a[i], 4);
      std::memcpy(&y, &b[i], 4);
      mismatches += x != y;
    }
    values += static_cast<int64_t>(a.size());
  }
};

std::map<std::string, Tensor> by_name(const io::NamedTensors& tensors) {
  std::map<std::string, Tensor> map;
  for (const auto& [name, tensor] : tensors) map.emplace(name, tensor);
  return map;
}

DType expected_dtype(int64_t bits, bool is_signed) {
  if (is_signed) return bits <= 8 ? DType::i8 : DType::i16;
  return bits <= 8 ? DType::u8 : (bits <= 15 ? DType::i16 : DType::i32);
}

// The fake-quant forward of every weight site, as the model's parameter transform computes it
// (eval mode: the observers keep what the export calibrated).
std::map<std::string, Tensor> fake_quant_weights(QuantizedModel& model) {
  NoGradGuard no_grad;
  model.train(false);
  std::map<std::string, Tensor> weights;
  for (const QuantSite& site : model.sites()) {
    if (site.kind == SiteKind::weight) weights.emplace(site.name, (*site.quantizer)(site.weight));
  }
  return weights;
}

// Checks the export of `model` tensor by tensor against the spec and the fake-quant forward, after a
// round trip through a file; returns the comparison of the dequantized weights.
BitComparison check_export(QuantizedModel& model, const std::string& file) {
  const io::NamedTensors state = model.model().state_dict();
  IntegerExport written = export_integer(model);
  save_integer_export(file, written);
  IntegerExport exported = load_integer_export(file);
  std::map<std::string, Tensor> tensors = by_name(exported.tensors);
  std::map<std::string, Tensor> dequantized = by_name(dequantize_export(exported));
  std::map<std::string, Tensor> reference = fake_quant_weights(model);
  const nlohmann::json bits = nlohmann::json::parse(exported.metadata.at("qatd.bits"));
  REQUIRE(exported.metadata.at("qatd.format") == "qatd-integer-export");
  REQUIRE(exported.metadata.at("qatd.format_version") == "1");

  BitComparison comparison;
  for (size_t i = 0; i < model.sites().size(); ++i) {
    const QuantSite& site = model.sites()[i];
    const QuantizerSpec& spec = site.spec;
    const int64_t n = model.bits().integer_bits(i);
    INFO("site " << site.name << ", " << n << " bits");
    REQUIRE(bits.at(site.name).get<int64_t>() == n);
    const nlohmann::json& entry = exported.sites.at(site.name);
    REQUIRE(entry.at("symmetric").get<bool>() == spec.symmetric);
    REQUIRE(entry.at("signed").get<bool>() == spec.is_signed);
    REQUIRE(entry.contains("channel_axis") == (spec.granularity == Granularity::per_channel));
    if (site.kind != SiteKind::weight) continue;

    const Tensor& qweight = tensors.at(site.name + ".qweight");
    const Tensor& scale = tensors.at(site.name + ".scale");
    REQUIRE(qweight.dtype() == expected_dtype(n, spec.is_signed));
    REQUIRE(qweight.shape() == site.weight.shape());
    const int64_t q_min = spec.symmetric && spec.is_signed ? grid_min(n, true) + 1 : grid_min(n, spec.is_signed);
    const int64_t q_max = grid_max(n, spec.is_signed);
    const std::vector<int64_t> q = qweight.to(DType::i64).to_vector<int64_t>();
    const auto [lowest, highest] = std::minmax_element(q.begin(), q.end());
    REQUIRE(*lowest >= q_min);
    REQUIRE(*highest <= q_max);
    REQUIRE(scale.dtype() == DType::f32);
    const Shape scale_shape = spec.granularity == Granularity::per_channel
                                  ? Shape{site.weight.size(site.spec.channel_axis)}
                                  : Shape{1};
    REQUIRE(scale.shape() == scale_shape);
    REQUIRE(tensors.count(site.name + ".zero_point") == (spec.symmetric ? 0u : 1u));
    if (!spec.symmetric) {
      const Tensor& zero_point = tensors.at(site.name + ".zero_point");
      REQUIRE(zero_point.dtype() == qweight.dtype());
      REQUIRE(zero_point.shape() == scale_shape);
    }
    REQUIRE(tensors.count(site.name) == 0);
    comparison.add(dequantized.at(site.name), reference.at(site.name));
  }
  // Everything else: the model's own tensors, exactly.
  for (const auto& [name, tensor] : state) {
    if (reference.count(name)) continue;
    INFO("tensor " << name);
    BitComparison copy;
    copy.add(tensors.at(name), tensor.detach());
    REQUIRE(copy.mismatches == 0);
    REQUIRE(dequantized.count(name) == 1);
  }
  REQUIRE(dequantized.size() == state.size());
  return comparison;
}

std::string weight_plan(const char* granularity, bool symmetric, bool is_signed, const char* source, int64_t bits) {
  return fmt::format(R"([quant]
[[quant.rules]]
pattern = "**"
types = ["Linear", "Conv2d", "ConvTranspose2d"]
weights = true
granularity = "{}"
symmetric = {}
signed = {}
scale_source = "{}"
bits_init = {}
bits_min = 2
bits_max = 16
)",
                     granularity, symmetric, is_signed, source, bits);
}

}  // namespace

TEST_CASE("integer export of a tiny model dequantizes to the fake-quant forward bit for bit", "[quant]") {
  struct Config {
    const char* granularity;
    bool symmetric;
    bool is_signed;
    const char* source;
    int64_t bits;
  };
  std::vector<Config> configs;
  for (const char* granularity : {"per_tensor", "per_channel"}) {
    for (auto [symmetric, is_signed] : {std::pair{true, true}, {false, true}, {false, false}, {true, false}}) {
      for (int64_t bits : {4, 8, 12}) configs.push_back({granularity, symmetric, is_signed, "min_max", bits});
      for (const char* source : {"learned", "percentile", "moving_average"}) {
        configs.push_back({granularity, symmetric, is_signed, source, 6});
      }
    }
  }
  const Tensor input = randn({2, 2, 6, 5}, DType::f32);
  int64_t total_mismatches = 0;
  for (const Config& config : configs) {
    const std::string label = fmt::format("{} {} {} {} {} bits", config.granularity,
                                          config.symmetric ? "sym" : "asym", config.is_signed ? "signed" : "unsigned",
                                          config.source, config.bits);
    INFO(label);
    TinyNet net(11);
    QuantizedModel quantized = apply_plan(
        net, QuantizationPlan::from_toml_text(
                 weight_plan(config.granularity, config.symmetric, config.is_signed, config.source, config.bits)));
    BitComparison weights = check_export(quantized, testing::temporary_path("tiny_export.safetensors"));

    // The quantized model against the float model carrying the dequantized weights: identical weights,
    // so equal outputs up to the engine's run-to-run reproducibility (see the SAM 2 case below).
    TinyNet restored(12);
    restored.load_state_dict(dequantize_export(load_integer_export(testing::temporary_path("tiny_export.safetensors"))));
    BitComparison outputs;
    double output_error = 0.0;
    {
      NoGradGuard no_grad;
      const Tensor ours = restored(input), reference = net(input);
      outputs.add(ours, reference);
      output_error = testing::difference(ours, reference).relative;
    }
    std::printf("export %-46s weights: %lld mismatches of %lld; model output: %lld mismatches (relative %.1e)\n",
                label.c_str(), static_cast<long long>(weights.mismatches), static_cast<long long>(weights.values),
                static_cast<long long>(outputs.mismatches), output_error);
    CHECK(weights.mismatches == 0);
    CHECK(output_error <= 1e-6);
    total_mismatches += weights.mismatches;
  }
  REQUIRE(total_mismatches == 0);
}

TEST_CASE("integer export takes each site's current (learned) bits", "[quant]") {
  TinyNet net(3);
  QuantizedModel quantized =
      apply_plan(net, QuantizationPlan::from_toml_text(weight_plan("per_channel", true, true, "min_max", 8)));
  {
    NoGradGuard no_grad;
    Tensor(quantized.bits().bits("conv.weight")).fill_(5.4);  // n = 5
    Tensor(quantized.bits().bits("up.weight")).fill_(9.6);    // n = 10
  }
  BitComparison weights = check_export(quantized, testing::temporary_path("tiny_learned_bits.safetensors"));
  IntegerExport exported = load_integer_export(testing::temporary_path("tiny_learned_bits.safetensors"));
  const nlohmann::json bits = nlohmann::json::parse(exported.metadata.at("qatd.bits"));
  CHECK(bits.at("conv.weight") == 5);
  CHECK(bits.at("up.weight") == 10);
  CHECK(bits.at("head.weight") == 8);
  CHECK(exported.sites.at("conv.weight").at("bits_variable").get<double>() == Approx(5.4));
  const std::map<std::string, Tensor> tensors = by_name(exported.tensors);
  CHECK(tensors.at("conv.weight.qweight").dtype() == DType::i8);
  CHECK(tensors.at("up.weight.qweight").dtype() == DType::i16);
  std::vector<int64_t> q = tensors.at("conv.weight.qweight").to(DType::i64).to_vector<int64_t>();
  for (int64_t& value : q) value = std::abs(value);
  CHECK(*std::max_element(q.begin(), q.end()) == 15);  // each channel's max|w| lands on 2^4 - 1
  std::printf("export with learned bits 5 and 10: %lld mismatches of %lld\n",
              static_cast<long long>(weights.mismatches), static_cast<long long>(weights.values));
  REQUIRE(weights.mismatches == 0);
}

TEST_CASE("integer export records output sites' bits and grids in the metadata", "[quant]") {
  TinyNet net(5);
  QuantizedModel quantized = apply_plan(net, QuantizationPlan::from_toml_text(R"([quant]
[[quant.rules]]
pattern = "conv"
outputs = true
granularity = "per_channel"
bits_init = 6
[[quant.rules]]
pattern = "head"
outputs = true
weights = true
symmetric = false
signed = false
)"));
  IntegerExport before = export_integer(quantized);
  CHECK(before.sites.at("conv.output").at("calibrated") == false);
  CHECK_FALSE(before.sites.at("conv.output").contains("scale"));
  CHECK(before.tensors.size() == net.state_dict().size() + 2);  // head.weight -> qweight, scale, zero_point

  {
    NoGradGuard no_grad;
    quantized.train(true);
    net(randn({2, 2, 6, 5}, DType::f32));
    quantized.train(false);
  }
  IntegerExport after = export_integer(quantized);
  const nlohmann::json& conv = after.sites.at("conv.output");
  const nlohmann::json& head = after.sites.at("head.output");
  CHECK(conv.at("calibrated") == true);
  CHECK(conv.at("bits") == 6);
  CHECK(conv.at("channel_axis") == 1);
  CHECK(head.at("kind") == "output");
  CHECK(head.contains("zero_point"));
  const QuantGrid conv_grid = quantized.site("conv.output").quantizer->grid(zeros({1, 4, 1, 1}));
  const QuantGrid head_grid = quantized.site("head.output").quantizer->grid(zeros({1, 5}));
  CHECK(conv.at("scale").get<std::vector<float>>() == conv_grid.scale.to_vector<float>());
  CHECK(head.at("scale").get<std::vector<float>>() == head_grid.scale.to_vector<float>());
  CHECK(head.at("zero_point").get<std::vector<double>>() == head_grid.zero_point.to(DType::f64).to_vector<double>());
}

TEST_CASE("integer export of the SAM 2 micro model dequantizes to the fake-quant forward bit for bit",
          "[quant][sam2]") {
  struct Case {
    std::string label;
    QuantizationPlan plan;
  };
  std::vector<Case> cases = {
      {"uniform 8 bits per channel", QuantizationPlan::uniform_weights(8, true)},
      {"uniform 4 bits per tensor", QuantizationPlan::uniform_weights(4, false)},
      {"uniform 12 bits per channel", QuantizationPlan::uniform_weights(12, true)},
      {"asymmetric 4 and 8 bits, mixed", QuantizationPlan::from_toml_text(R"([quant]
[[quant.rules]]
pattern = "image_encoder.**"
types = ["Linear", "Conv2d"]
weights = true
symmetric = false
granularity = "per_channel"
bits_init = 4
[[quant.rules]]
pattern = "sam_mask_decoder.**"
types = ["Linear", "ConvTranspose2d"]
weights = true
symmetric = false
signed = false
scale_source = "percentile"
averaging_constant = 1
bits_init = 8
)")}};
  const std::string config = testing::fixture_path("sam2_micro_a/meta.json");
  const std::string checkpoint = testing::fixture_path("sam2_micro_a/model.safetensors");
  const Tensor image = io::read_image(testing::fixture_path("sam2_micro_a/image.png"));
  const Tensor points = from_vector(std::vector<float>{60.0f, 50.0f, 100.0f, 120.0f}, {2, 2});
  const Tensor labels = from_vector(std::vector<int32_t>{1, 0}, {2});
  for (const Case& item : cases) {
    INFO(item.label);
    std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(config, checkpoint);
    QuantizedModel quantized = apply_plan(*model, item.plan);
    const std::string file = testing::temporary_path("micro_export.safetensors");
    BitComparison weights = check_export(quantized, file);

    // The quantized model's prediction against the float model carrying the dequantized weights.
    std::unique_ptr<sam2::SAM2Base> restored = sam2::build_sam2(config, "");
    restored->load_official_state(dequantize_export(load_integer_export(file)));
    auto masks = [&](sam2::SAM2Base& each) {
      sam2::SAM2ImagePredictor predictor(each);
      predictor.set_image(image);
      return predictor.predict(points, labels, Tensor(), Tensor(), true, /*return_logits=*/true).masks;
    };
    std::printf("micro %-32s %zu sites, weights: %lld mismatches of %lld\n", item.label.c_str(),
                quantized.sites().size(), static_cast<long long>(weights.mismatches),
                static_cast<long long>(weights.values));
    // The kernels are bitwise reproducible (tests/engine/test_determinism.cpp), so the masks must match
    // bit for bit too; quantization itself moves them by ~1e-2.
    const Tensor restored_masks = masks(*restored);
    const Tensor quantized_masks = masks(*model);
    const double masks_error =
        testing::report_difference("  masks, quantized vs dequantized export", restored_masks, quantized_masks);
    CHECK(weights.mismatches == 0);
    CHECK(masks_error == 0.0);
    CHECK(restored_masks.to_vector<float>() == quantized_masks.to_vector<float>());
  }
}

TEST_CASE("integer export errors name the site and the problem", "[quant]") {
  SECTION("float64 weights") {
    TinyNet net(1);
    net.to(DType::f64);
    QuantizedModel quantized = apply_plan(net, QuantizationPlan::uniform_weights(8, false));
    REQUIRE_THROWS_WITH(export_integer(quantized), Catch::Contains("conv.weight") && Catch::Contains("float32"));
  }
  TinyNet net(2);
  QuantizedModel quantized = apply_plan(net, QuantizationPlan::uniform_weights(4, true));
  IntegerExport exported = export_integer(quantized);
  SECTION("integers outside the grid") {
    for (auto& [name, tensor] : exported.tensors) {
      if (name == "head.weight.qweight") tensor = full(tensor.shape(), 8.0, DType::i8);  // 4-bit grid ends at 7
    }
    REQUIRE_THROWS_WITH(dequantize_export(exported), Catch::Contains("head.weight") && Catch::Contains("outside"));
  }
  SECTION("a missing scale") {
    std::erase_if(exported.tensors, [](const auto& entry) { return entry.first == "up.weight.scale"; });
    REQUIRE_THROWS_WITH(dequantize_export(exported), Catch::Contains("up.weight") && Catch::Contains("scale"));
  }
  SECTION("a wrong integer dtype") {
    for (auto& [name, tensor] : exported.tensors) {
      if (name == "conv.weight.qweight") tensor = tensor.to(DType::i16);
    }
    REQUIRE_THROWS_WITH(dequantize_export(exported), Catch::Contains("conv.weight") && Catch::Contains("i8"));
  }
  SECTION("a file that is not an export") {
    REQUIRE_THROWS_WITH(load_integer_export(testing::fixture_path("sam2_micro_a/model.safetensors")),
                        Catch::Contains("not a qatd integer export"));
  }
  SECTION("a directory that does not exist") {
    REQUIRE_THROWS_WITH(save_integer_export(testing::temporary_path("missing_directory/x.safetensors"), exported),
                        Catch::Contains("does not exist"));
  }
}

TEST_CASE("qatd export: integer weights from the command line, learned bits, and clear errors",
          "[quant][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string config = testing::fixture_path("sam2_micro_a/meta.json");
  const std::string checkpoint = testing::fixture_path("sam2_micro_a/model.safetensors");
  const std::string out = testing::temporary_path("cli_export.safetensors");
  const std::vector<std::string> base = {"export", "--model-config", config, "--checkpoint", checkpoint, "--out", out};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> words = base;
    words.insert(words.end(), extra.begin(), extra.end());
    return words;
  };

  SECTION("bad input leaves an existing --out intact") {
    testing::write_file_text(out, "an earlier export");
    const std::string plan = testing::temporary_path("cli_plan_nothing.toml");
    testing::write_file_text(plan, "[quant]\n[[quant.rules]]\npattern = \"image_encoder.trunk.blockz.*\"\nweights = true\n");
    struct Bad {
      std::vector<std::string> words;
      std::vector<std::string> message;
    };
    const std::vector<Bad> bad = {
        {with({}), {"exactly one of --config", "--weight-bits"}},
        {with({"--weight-bits", "8", "--config", plan}), {"exactly one of", "not both"}},
        {with({"--weight-bits", "1"}), {"--weight-bits must lie in [2, 16]", "got 1"}},
        {with({"--weight-bits", "17"}), {"--weight-bits must lie in [2, 16]", "got 17"}},
        {with({"--weight-bits", "eight"}), {"--weight-bits expects an integer"}},
        {with({"--config", plan}), {"rule #1 (pattern 'image_encoder.trunk.blockz.*') matches no module"}},
        {with({"--weight-bits", "8", "--per-channel", "--config", plan}), {"exactly one of"}},
        {{"export", "--model-config", config, "--checkpoint", checkpoint, "--weight-bits", "8", "--out",
          testing::temporary_path("no_such_directory/out.safetensors")},
         {"does not exist"}},
    };
    for (const Bad& item : bad) {
      testing::CommandResult result = testing::run_qatd(binary, item.words);
      INFO(result.output);
      CHECK(result.status == 1);
      for (const std::string& part : item.message) CHECK_THAT(result.output, Catch::Contains(part));
      CHECK(testing::read_file_text(out) == "an earlier export");
    }
  }

  SECTION("the export equals the library's, with the summary") {
    testing::CommandResult result = testing::run_qatd(binary, with({"--weight-bits", "8", "--per-channel"}));
    INFO(result.output);
    REQUIRE(result.status == 0);
    CHECK_THAT(result.output, Catch::Contains("weight sites:") && Catch::Contains("at 8 bits") &&
                                  Catch::Contains("wrote " + out));
    std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(config, checkpoint);
    QuantizedModel quantized = apply_plan(*model, QuantizationPlan::uniform_weights(8, true));
    const std::map<std::string, Tensor> expected = by_name(dequantize_export(export_integer(quantized)));
    BitComparison comparison;
    for (const auto& [name, tensor] : dequantize_export(load_integer_export(out))) comparison.add(tensor, expected.at(name));
    CHECK(comparison.mismatches == 0);
  }

  SECTION("a training checkpoint's learned bits and quantizer state are exported") {
    const std::string plan = testing::temporary_path("cli_plan_decoder.toml");
    testing::write_file_text(plan, R"([quant]
[[quant.rules]]
pattern = "sam_mask_decoder.transformer.layers.*.mlp.layers.*"
weights = true
granularity = "per_channel"
bits_init = 8
bits_min = 2
bits_max = 8
)");
    std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(config, checkpoint);
    QuantizedModel quantized = apply_plan(*model, QuantizationPlan::from_toml_file(plan));
    const std::string site = "sam_mask_decoder.transformer.layers.0.mlp.layers.1.weight";
    {
      NoGradGuard no_grad;
      Tensor(quantized.bits().bits(site)).fill_(4.7);  // a learned 5 bits
    }
    export_integer(quantized);  // calibrates the observers, as training would have
    io::NamedTensors tensors = model->official_state();
    BitState bits = quantized.bits().state_dict();
    tensors.insert(tensors.end(), bits.tensors.begin(), bits.tensors.end());
    for (auto& entry : quantized.quantizer_state()) tensors.push_back(entry);
    const std::string trained = testing::temporary_path("cli_trained.safetensors");
    io::save_checkpoint(trained, tensors, {{"bits", bits.metadata}, {"step", 100}});

    testing::CommandResult result = testing::run_qatd(
        binary, {"export", "--model-config", config, "--checkpoint", trained, "--config", plan, "--out", out});
    INFO(result.output);
    REQUIRE(result.status == 0);
    CHECK_THAT(result.output, Catch::Contains("the checkpoint (learned)") && Catch::Contains("1 at 5 bits"));
    IntegerExport exported = load_integer_export(out);
    CHECK(nlohmann::json::parse(exported.metadata.at("qatd.bits")).at(site) == 5);
    BitComparison comparison;
    const std::map<std::string, Tensor> reference = fake_quant_weights(quantized);
    for (const auto& [name, tensor] : dequantize_export(exported)) {
      if (reference.count(name)) comparison.add(tensor, reference.at(name));
    }
    CHECK(comparison.values > 0);
    CHECK(comparison.mismatches == 0);

    // The same checkpoint against a plan whose bit range differs: the bits do not fit.
    testing::CommandResult wrong = testing::run_qatd(
        binary, {"export", "--model-config", config, "--checkpoint", trained, "--weight-bits", "8", "--out", out});
    INFO(wrong.output);
    CHECK(wrong.status == 1);
    CHECK_THAT(wrong.output, Catch::Contains("learned bits") && Catch::Contains("do not fit"));
  }
}

}  // namespace qatd::quant
