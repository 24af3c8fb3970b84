// SAM 2's image encoder (Hiera trunk, FPN neck, sine position encoding): parity with the official
// model on the micro_a fixture, float64 finite-difference gradients, windowing and shape errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "models/sam2/backbones/image_encoder.h"

namespace qatd::sam2 {
namespace {

std::string fixture_path(const std::string& name) {
  return std::string(QATD_TEST_DATA_DIR) + "/fixtures/sam2_micro_a/" + name;
}

Tensor named(const io::NamedTensors& tensors, const std::string& name) {
  for (const auto& [key, tensor] : tensors) {
    if (key == name) return tensor;
  }
  FAIL("no tensor named " << name);
  return Tensor();
}

// Prints one line per comparison and returns ||ours - reference|| / ||reference||.
double relative_error(const std::string& name, const Tensor& ours, const Tensor& reference) {
  REQUIRE(ours.shape() == reference.shape());
  return testing::report_difference(name, ours, reference);
}

// The model.image_encoder block of tests/fixtures/sam2_micro_a/meta.json.
std::shared_ptr<ImageEncoder> micro_a_encoder(Generator* generator = nullptr) {
  HieraOptions trunk;
  trunk.embed_dim = 24;
  trunk.num_heads = 1;
  trunk.stages = {1, 1, 3, 1};
  trunk.global_att_blocks = {3, 4};
  trunk.window_pos_embed_bkg_spatial_size = {7, 7};
  trunk.window_spec = {8, 4, 14, 7};
  FpnNeckOptions neck;
  neck.position_encoding = {.num_pos_feats = 32, .temperature = 10000.0, .normalize = true};
  neck.d_model = 32;
  neck.backbone_channel_list = {192, 96, 48, 24};
  neck.fpn_top_down_levels = std::vector<int64_t>{2, 3};
  neck.fpn_interp_model = "nearest";
  return std::make_shared<ImageEncoder>(std::make_shared<Hiera>(trunk, generator),
                                        std::make_shared<FpnNeck>(neck, generator), ImageEncoderOptions{.scalp = 1});
}

// A tiny encoder whose windows mostly do not divide the maps: at a 64 x 64 image the stages are 16,
// 8, 4 and 2 wide; block 2 pools queries in 6-windows over an 8-map (padded to 12), block 3 attends
// in a 6-window over a 4-map, block 4 is global and block 5 pools in a padded 6-window.
std::shared_ptr<ImageEncoder> tiny_encoder(Generator* generator, double drop_path_rate = 0.0) {
  HieraOptions trunk;
  trunk.embed_dim = 8;
  trunk.num_heads = 1;
  trunk.drop_path_rate = drop_path_rate;
  trunk.stages = {1, 1, 3, 1};
  trunk.global_att_blocks = {4};
  trunk.window_pos_embed_bkg_spatial_size = {3, 5};
  trunk.window_spec = {4, 6, 6, 3};
  FpnNeckOptions neck;
  neck.position_encoding = {.num_pos_feats = 8};
  neck.d_model = 8;
  neck.backbone_channel_list = {64, 32, 16, 8};
  neck.fpn_top_down_levels = std::vector<int64_t>{2, 3};
  neck.fpn_interp_model = "nearest";
  return std::make_shared<ImageEncoder>(std::make_shared<Hiera>(trunk, generator),
                                        std::make_shared<FpnNeck>(neck, generator), ImageEncoderOptions{.scalp = 1});
}

// Gives every parameter random values (LayerNorm weights around 1), so that no term is trivially zero.
void randomize(nn::Module& module, Generator& generator) {
  NoGradGuard no_grad;
  for (auto& [name, parameter] : module.named_parameters()) {
    Tensor noise = randn(parameter.shape(), parameter.dtype(), &generator);
    bool norm_weight = name.find("norm") != std::string::npos && name.ends_with(".weight");
    double scale = name.find("pos_embed") != std::string::npos ? 0.5 : 0.2;
    parameter.copy_(norm_weight ? add(mul(noise, 0.1), 1.0) : mul(noise, scale));
  }
}

// d(loss)/d(x) for a leaf x, leaving x's .grad as it found it (undefined).
Tensor autograd_grad_of(const Tensor& loss, const Tensor& x) {
  loss.backward();
  Tensor gradient = x.grad().contiguous();
  x.set_grad(Tensor());
  return gradient;
}

}  // namespace

TEST_CASE("image encoder: state_dict keys equal the official micro_a image_encoder keys", "[sam2]") {
  auto encoder = micro_a_encoder();
  io::NamedTensors reference =
      io::select_prefix(io::load_safetensors(fixture_path("model.safetensors")), "image_encoder.");
  io::NamedTensors ours = encoder->state_dict();
  REQUIRE(ours.size() == reference.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    CHECK(ours[i].first == reference[i].first);
    CHECK(ours[i].second.shape() == reference[i].second.shape());
  }
}

TEST_CASE("image encoder: hiera_t has the official key count and parameter count", "[sam2]") {
  // sam2.1_hiera_t.yaml's trunk and neck; the counts are those of the official modules (trunk
  // 26,849,472 + neck 369,664 parameters in 162 keys).
  HieraOptions trunk;
  trunk.embed_dim = 96;
  trunk.stages = {1, 2, 7, 2};
  trunk.global_att_blocks = {5, 7, 9};
  trunk.window_pos_embed_bkg_spatial_size = {7, 7};
  FpnNeckOptions neck;
  neck.position_encoding = {.num_pos_feats = 256};
  neck.backbone_channel_list = {768, 384, 192, 96};
  neck.fpn_top_down_levels = std::vector<int64_t>{2, 3};
  neck.fpn_interp_model = "nearest";
  ImageEncoder encoder(std::make_shared<Hiera>(trunk), std::make_shared<FpnNeck>(neck), {.scalp = 1});
  io::NamedTensors state = encoder.state_dict();
  int64_t count = 0;
  for (const auto& [name, tensor] : state) count += tensor.numel();
  CHECK(state.size() == 162);
  CHECK(count == 27219136);
  CHECK(encoder.trunk->q_pool_blocks == std::vector<int64_t>{1, 3, 10});
  const auto& block10 = encoder.trunk->blocks->at<MultiScaleBlock>(10).options;
  CHECK(block10.dim == 384);
  CHECK(block10.dim_out == 768);
  CHECK(block10.num_heads == 8);
  CHECK(block10.window_size == 14);
  CHECK(encoder.trunk->blocks->at<MultiScaleBlock>(11).options.window_size == 7);
  CHECK(encoder.trunk->blocks->at<MultiScaleBlock>(9).options.window_size == 0);
}

TEST_CASE("image encoder: matches the official model on the micro_a fixture", "[sam2]") {
  // Tolerance: ||ours - official|| / ||official|| <= 1e-5 on every tensor (float32).
  auto encoder = micro_a_encoder();
  io::NamedTensors model = io::load_safetensors(fixture_path("model.safetensors"));
  encoder->load_state_dict(io::select_prefix(model, "image_encoder."), true);
  encoder->eval();
  io::NamedTensors reference = io::load_safetensors(fixture_path("image_io.safetensors"));
  Tensor image = named(reference, "image.input");

  NoGradGuard no_grad;
  std::vector<Tensor> stages = (*encoder->trunk)(image);
  ImageEncoderOutput output = (*encoder)(image);
  REQUIRE(stages.size() == 4);
  REQUIRE(output.backbone_fpn.size() == 3);
  REQUIRE(output.vision_pos_enc.size() == 3);
  CHECK(output.vision_features.is_same(output.backbone_fpn[2]));

  std::printf("image encoder vs official (micro_a):\n");
  for (int s = 0; s < 4; ++s) {
    std::string name = "trunk.stage" + std::to_string(s);
    CHECK(relative_error(name, stages[s], named(reference, name)) <= 1e-5);
  }
  // SAM2Base.forward_image applies the mask decoder's conv_s0 / conv_s1 to the two finest levels.
  Tensor level0 = conv2d(output.backbone_fpn[0], named(model, "sam_mask_decoder.conv_s0.weight"),
                         named(model, "sam_mask_decoder.conv_s0.bias"));
  Tensor level1 = conv2d(output.backbone_fpn[1], named(model, "sam_mask_decoder.conv_s1.weight"),
                         named(model, "sam_mask_decoder.conv_s1.bias"));
  CHECK(relative_error("backbone_fpn.0", level0, named(reference, "backbone_fpn.0")) <= 1e-5);
  CHECK(relative_error("backbone_fpn.1", level1, named(reference, "backbone_fpn.1")) <= 1e-5);
  CHECK(relative_error("backbone_fpn.2", output.backbone_fpn[2], named(reference, "backbone_fpn.2")) <= 1e-5);
  for (int level = 0; level < 3; ++level) {
    std::string name = "vision_pos_enc." + std::to_string(level);
    CHECK(relative_error(name, output.vision_pos_enc[level], named(reference, name)) <= 1e-5);
  }
}

TEST_CASE("image encoder: float64 gradients match finite differences", "[sam2]") {
  Generator generator(7);
  auto encoder = tiny_encoder(&generator);
  randomize(*encoder, generator);
  encoder->to(DType::f64);
  encoder->eval();
  Tensor image = randn({2, 3, 64, 64}, DType::f64, &generator);

  // A random upstream gradient on every output (the position encodings are constants).
  std::vector<Tensor> seeds;
  auto loss_of = [&]() {
    ImageEncoderOutput output = (*encoder)(image);
    std::vector<Tensor> outputs = output.backbone_fpn;
    outputs.insert(outputs.end(), output.vision_pos_enc.begin(), output.vision_pos_enc.end());
    while (seeds.size() < outputs.size()) seeds.push_back(randn(outputs[seeds.size()].shape(), DType::f64, &generator));
    Tensor loss = zeros({}, DType::f64);
    for (size_t i = 0; i < outputs.size(); ++i) loss = add(loss, sum(mul(outputs[i], seeds[i])));
    return loss;
  };
  encoder->zero_grad();
  loss_of().backward();

  // Parameters of each kind, with a few random entries each; for block 2's qkv bias, entries of the
  // value bias too, which reaches the output through the padded tokens (its key bias has no gradient:
  // it shifts every score of a query equally).
  struct Probe {
    std::string name;
    std::vector<int64_t> entries;
  };
  const std::vector<Probe> probes = {
      {"trunk.pos_embed", {}},         // bicubic resize
      {"trunk.pos_embed_window", {}},  // tiled
      {"trunk.patch_embed.proj.weight", {}},
      {"trunk.blocks.0.attn.qkv.weight", {}},  // windows that divide the map
      {"trunk.blocks.2.attn.qkv.weight", {}},  // q-pool block, padded windows
      {"trunk.blocks.2.attn.qkv.bias", {0, 5, 64, 70, 79}},
      {"trunk.blocks.2.proj.weight", {}},       // pooled skip path
      {"trunk.blocks.3.attn.qkv.weight", {}},   // a single padded window
      {"trunk.blocks.4.attn.proj.weight", {}},  // global attention
      {"trunk.blocks.5.attn.qkv.weight", {}},   // q-pool block of the last stage
      {"trunk.blocks.1.norm1.weight", {}},
      {"neck.convs.0.conv.weight", {}},  // the dropped deepest level, through the top-down path
      {"neck.convs.2.conv.weight", {}},
  };
  const double step = 1e-6;
  double worst_ratio = 0.0;
  for (const Probe& probe : probes) {
    Tensor parameter;
    for (auto& [key, tensor] : encoder->named_parameters()) {
      if (key == probe.name) parameter = tensor;
    }
    REQUIRE(parameter.defined());
    Tensor gradient = parameter.grad();
    REQUIRE(gradient.defined());
    std::vector<double> analytic = gradient.contiguous().to_vector<double>();
    std::vector<int64_t> entries = probe.entries;
    while (entries.size() < 6) {
      entries.push_back(static_cast<int64_t>(generator.next_u64() % static_cast<uint64_t>(parameter.numel())));
    }
    double* values = parameter.data<double>();
    double max_difference = 0.0, max_numeric = 0.0;
    for (int64_t index : entries) {
      NoGradGuard no_grad;
      double original = values[index];
      values[index] = original + step;
      parameter.bump_version();
      double plus = loss_of().item();
      values[index] = original - step;
      parameter.bump_version();
      double minus = loss_of().item();
      values[index] = original;
      parameter.bump_version();
      double numeric = (plus - minus) / (2 * step);
      double difference = std::abs(numeric - analytic[index]);
      CHECK(difference <= 1e-6 + 1e-5 * std::abs(numeric));
      max_difference = std::max(max_difference, difference);
      max_numeric = std::max(max_numeric, std::abs(numeric));
      worst_ratio = std::max(worst_ratio, difference / (1e-6 + 1e-5 * std::abs(numeric)));
    }
    std::printf("  %-32s max |numeric - analytic| %.3e  (max |numeric| %.3e)\n", probe.name.c_str(), max_difference,
                max_numeric);
  }
  std::printf(
      "image encoder float64 finite differences: worst error / tolerance %.3e (tolerance 1e-6 + 1e-5 |numeric|)\n",
      worst_ratio);
}

TEST_CASE("image encoder: window partition pads with zeros and unpartition inverts it", "[sam2]") {
  Generator generator(3);
  Tensor x = randn({2, 7, 10, 3}, DType::f32, &generator);
  Windows windows = window_partition(x, 4);
  CHECK(windows.padded_hw == std::array<int64_t, 2>{8, 12});
  REQUIRE(windows.windows.shape() == Shape{2 * 2 * 3, 4, 4, 3});
  // Window (image 1, row 1, column 2) holds x[1, 4:7, 8:10] and zeros beyond the map.
  Tensor window = windows.windows.select(0, 3 * 2 + 1 * 3 + 2);
  CHECK(window.slice(0, 0, 3).slice(1, 0, 2).contiguous().to_vector<float>() ==
        x.select(0, 1).slice(0, 4, 7).slice(1, 8, 10).contiguous().to_vector<float>());
  CHECK(sum(abs(window.slice(0, 3, 4))).item() == 0.0);
  CHECK(sum(abs(window.slice(1, 2, 4))).item() == 0.0);
  Tensor restored = window_unpartition(windows.windows, 4, windows.padded_hw, {7, 10});
  CHECK(restored.shape() == x.shape());
  CHECK(restored.contiguous().to_vector<float>() == x.contiguous().to_vector<float>());

  Windows exact = window_partition(x, 1);
  CHECK(exact.padded_hw == std::array<int64_t, 2>{7, 10});
  CHECK(window_unpartition(exact.windows, 1, exact.padded_hw, {7, 10}).contiguous().to_vector<float>() ==
        x.contiguous().to_vector<float>());

  REQUIRE_THROWS_WITH(window_partition(x.select(0, 0), 4),
                      Catch::Contains("window_partition") && Catch::Contains("(B, H, W, C)"));
  REQUIRE_THROWS_WITH(window_unpartition(windows.windows.slice(0, 0, 5), 4, {8, 12}, {7, 10}),
                      Catch::Contains("window_unpartition") && Catch::Contains("whole number"));
  REQUIRE_THROWS_WITH(window_unpartition(windows.windows, 4, {8, 12}, {9, 10}), Catch::Contains("window_unpartition"));
}

TEST_CASE("image encoder: channels-last pooling equals max_pool2d, odd sizes included", "[sam2]") {
  Generator generator(9);
  for (auto stride : {std::array<int64_t, 2>{2, 2}, std::array<int64_t, 2>{2, 3}}) {
    Tensor x = randn({2, 5, 7, 3}, DType::f64, &generator).set_requires_grad(true);
    Tensor ours = do_pool(x, stride);
    Pool2dOptions pool;
    pool.kernel_size = stride;
    pool.stride = stride;
    Tensor reference = max_pool2d(x.permute({0, 3, 1, 2}), pool).permute({0, 2, 3, 1});
    REQUIRE(ours.shape() == reference.shape());
    CHECK(ours.contiguous().to_vector<double>() == reference.contiguous().to_vector<double>());
    // Without ties the gradients agree too.
    Tensor seed = randn(ours.shape(), DType::f64, &generator);
    Tensor ours_grad = autograd_grad_of(sum(mul(ours, seed)), x);
    Tensor reference_grad = autograd_grad_of(sum(mul(reference, seed)), x);
    CHECK(ours_grad.to_vector<double>() == reference_grad.to_vector<double>());
  }
  Tensor x = randn({1, 4, 4, 2});
  CHECK(do_pool(x, std::nullopt).is_same(x));
  REQUIRE_THROWS_WITH(do_pool(randn({1, 1, 4, 2}), std::array<int64_t, 2>{2, 2}),
                      Catch::Contains("do_pool") && Catch::Contains("smaller"));
}

TEST_CASE("image encoder: image sizes that are multiples of 32 but not powers of 2 run", "[sam2]") {
  Generator generator(5);
  auto encoder = micro_a_encoder(&generator);
  encoder->eval();
  NoGradGuard no_grad;
  for (auto [height, width] : {std::pair<int64_t, int64_t>{96, 96}, {160, 96}}) {
    ImageEncoderOutput output = (*encoder)(randn({1, 3, height, width}, DType::f32, &generator));
    REQUIRE(output.backbone_fpn.size() == 3);
    for (int level = 0; level < 3; ++level) {
      Shape expected{1, 32, height / (4 << level), width / (4 << level)};
      CHECK(output.backbone_fpn[level].shape() == expected);
      CHECK(output.vision_pos_enc[level].shape() == expected);
      CHECK(sum(isfinite(output.backbone_fpn[level]).to(DType::f32)).item() ==
            static_cast<double>(output.backbone_fpn[level].numel()));
    }
  }
  // A batch gives each image's own result (windows of different images never mix).
  Tensor images = randn({2, 3, 160, 96}, DType::f32, &generator);
  ImageEncoderOutput batched = (*encoder)(images);
  for (int64_t b = 0; b < 2; ++b) {
    ImageEncoderOutput single = (*encoder)(images.narrow(0, b, 1));
    for (int level = 0; level < 3; ++level) {
      CHECK(relative_error("batch item " + std::to_string(b), batched.backbone_fpn[level].narrow(0, b, 1),
                           single.backbone_fpn[level]) <= 1e-6);
    }
  }
}

TEST_CASE("image encoder: bad inputs and options give clear errors", "[sam2]") {
  auto encoder = micro_a_encoder();
  REQUIRE_THROWS_WITH((*encoder)(zeros({3, 64, 64})), Catch::Contains("Hiera") && Catch::Contains("(B, 3, H, W)"));
  REQUIRE_THROWS_WITH((*encoder)(zeros({1, 4, 64, 64})), Catch::Contains("Hiera") && Catch::Contains("(B, 3, H, W)"));
  REQUIRE_THROWS_WITH((*encoder)(zeros({1, 3, 100, 96})),
                      Catch::Contains("Hiera") && Catch::Contains("multiple of 32"));

  FpnNeck& neck = *encoder->neck;
  REQUIRE_THROWS_WITH(neck({zeros({1, 24, 16, 16})}), Catch::Contains("FpnNeck") && Catch::Contains("4 trunk levels"));
  REQUIRE_THROWS_WITH(neck({zeros({1, 24, 16, 16}), zeros({1, 48, 8, 8}), zeros({1, 96, 4, 4}), zeros({1, 100, 2, 2})}),
                      Catch::Contains("FpnNeck") && Catch::Contains("(B, 192, H, W)"));
  REQUIRE_THROWS_WITH(neck({zeros({1, 24, 16, 16}), zeros({1, 48, 8, 8}), zeros({1, 96, 6, 6}), zeros({1, 192, 2, 2})}),
                      Catch::Contains("FpnNeck") && Catch::Contains("upsampled"));

  HieraOptions trunk;
  trunk.embed_dim = 8;
  trunk.q_pool = 1;
  trunk.stages = {1, 1};
  trunk.window_spec = {4, 4};
  trunk.global_att_blocks = {};
  FpnNeckOptions neck_options;
  neck_options.position_encoding = {.num_pos_feats = 8};
  neck_options.d_model = 8;
  neck_options.backbone_channel_list = {8, 16};
  REQUIRE_THROWS_WITH(ImageEncoder(std::make_shared<Hiera>(trunk), std::make_shared<FpnNeck>(neck_options)),
                      Catch::Contains("ImageEncoder") && Catch::Contains("do not match"));
  neck_options.backbone_channel_list = {16, 8};
  REQUIRE_THROWS_WITH(
      ImageEncoder(std::make_shared<Hiera>(trunk), std::make_shared<FpnNeck>(neck_options), {.scalp = 2}),
      Catch::Contains("ImageEncoder") && Catch::Contains("scalp"));

  HieraOptions bad_q_pool = trunk;
  bad_q_pool.q_pool = 2;
  REQUIRE_THROWS_WITH(Hiera(bad_q_pool), Catch::Contains("Hiera") && Catch::Contains("q_pool"));
  HieraOptions global_pool = trunk;
  global_pool.global_att_blocks = {1};
  REQUIRE_THROWS_WITH(Hiera(global_pool), Catch::Contains("MultiScaleBlock") && Catch::Contains("q_stride"));
  HieraOptions bad_spec = trunk;
  bad_spec.window_spec = {4};
  REQUIRE_THROWS_WITH(Hiera(bad_spec), Catch::Contains("Hiera") && Catch::Contains("window_spec"));
  REQUIRE_THROWS_WITH(MultiScaleAttention({.dim = 8, .dim_out = 12, .num_heads = 5}),
                      Catch::Contains("MultiScaleAttention") && Catch::Contains("num_heads"));
  REQUIRE_THROWS_WITH(FpnNeck({.position_encoding = {.num_pos_feats = 8},
                               .d_model = 8,
                               .backbone_channel_list = {8},
                               .fpn_interp_model = "area"}),
                      Catch::Contains("FpnNeck") && Catch::Contains("fpn_interp_model"));
  REQUIRE_THROWS_WITH(PositionEmbeddingSine({.num_pos_feats = 7}),
                      Catch::Contains("PositionEmbeddingSine") && Catch::Contains("even"));
  REQUIRE_THROWS_WITH(PositionEmbeddingSine({.num_pos_feats = 8, .normalize = false, .scale = 1.0}),
                      Catch::Contains("PositionEmbeddingSine") && Catch::Contains("normalize"));
}

TEST_CASE("image encoder: sine position encoding without normalization", "[sam2]") {
  PositionEmbeddingSine encoding({.num_pos_feats = 8, .temperature = 100.0, .normalize = false});
  Tensor pe = encoding(zeros({2, 5, 3, 4}));
  REQUIRE(pe.shape() == Shape{2, 8, 3, 4});
  // Channel i of the y half at row r: sin (even i) or cos (odd i) of (r + 1) / 100^(2 floor(i / 2) / 4);
  // the x half does the same with the column.
  for (int64_t i = 0; i < 4; ++i) {
    double frequency = std::pow(100.0, 2.0 * static_cast<double>(i / 2) / 4.0);
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t c = 0; c < 4; ++c) {
        double y = static_cast<double>(r + 1) / frequency, x = static_cast<double>(c + 1) / frequency;
        CHECK(pe.select(0, 1).select(0, i).select(0, r).select(0, c).item() ==
              Approx(i % 2 == 0 ? std::sin(y) : std::cos(y)).margin(1e-6));
        CHECK(pe.select(0, 0).select(0, 4 + i).select(0, r).select(0, c).item() ==
              Approx(i % 2 == 0 ? std::sin(x) : std::cos(x)).margin(1e-6));
      }
    }
  }
  CHECK(!pe.requires_grad());
  CHECK(encoding(zeros({1, 5, 3, 4}, DType::f64)).dtype() == DType::f64);
}

TEST_CASE("image encoder: drop path drops whole samples in training only", "[sam2]") {
  Generator generator(11);
  DropPath drop(0.25, true, &generator);
  Tensor x = ones({4000, 2, 3});
  drop.eval();
  CHECK(drop(x).is_same(x));
  drop.train();
  Tensor y = drop(x);
  std::vector<float> values = y.contiguous().to_vector<float>();
  int64_t kept = 0;
  for (int64_t sample = 0; sample < 4000; ++sample) {
    float first = values[sample * 6];
    CHECK((first == 0.0f || first == Approx(1.0 / 0.75)));
    for (int64_t j = 1; j < 6; ++j) CHECK(values[sample * 6 + j] == first);
    kept += first != 0.0f;
  }
  CHECK(static_cast<double>(kept) / 4000.0 == Approx(0.75).margin(0.03));
  DropPath all(1.0, true, &generator);
  CHECK(sum(all(x)).item() == 0.0);

  // Stochastic depth rises linearly over the blocks; with it on, training differs from eval and backpropagates.
  auto encoder = tiny_encoder(&generator, 0.5);
  const auto& blocks = *encoder->trunk->blocks;
  CHECK(blocks.at<MultiScaleBlock>(0).drop_path->drop_prob == 0.0);
  CHECK(blocks.at<MultiScaleBlock>(0).drop_path->type_name() == "Identity");
  CHECK(blocks.at<MultiScaleBlock>(5).drop_path->drop_prob == 0.5);
  CHECK(blocks.at<MultiScaleBlock>(1).drop_path->drop_prob == Approx(0.1));
  Tensor image = randn({8, 3, 64, 64}, DType::f32, &generator);
  encoder->eval();
  Tensor eval_features;
  {
    NoGradGuard no_grad;
    eval_features = (*encoder)(image).vision_features;
  }
  encoder->train();
  Tensor train_features = (*encoder)(image).vision_features;
  CHECK(sum(abs(sub(train_features, eval_features))).item() > 0.0);
  sum(train_features).backward();
  CHECK(encoder->trunk->blocks->at<MultiScaleBlock>(5).attn->qkv->weight.grad().defined());
}

}  // namespace qatd::sam2
