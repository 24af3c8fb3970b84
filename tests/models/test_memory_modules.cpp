// The video path's modules: MemoryAttention (with RoPEAttention) and MemoryEncoder. State-dict keys against
// the sam2_micro_a checkpoint; forward and gradients against the official modules on the fixture's weights
// (tests/fixtures/sam2_micro_a_memory.safetensors, written by tools/make_memory_fixture.py; forward 1e-5,
// gradients 1e-4 relative); the rotary encoding against a float64 evaluation of the official formulas
// (1e-6: the tables are float32, as the official ones); float64 finite differences of both modules.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "models/sam2/memory_attention.h"
#include "models/sam2/memory_encoder.h"
#include "models/sam2/sam2_config.h"
#include "tests/test_support.h"

namespace qatd::sam2 {
namespace {

constexpr double kForwardTolerance = 1e-5;
constexpr double kGradientTolerance = 1e-4;
constexpr double kRopeTolerance = 1e-6;

std::map<std::string, Tensor> load(const std::string& name) {
  std::map<std::string, Tensor> tensors;
  for (auto& [key, tensor] : io::load_safetensors(testing::fixture_path(name))) tensors.emplace(key, tensor);
  return tensors;
}

double compare(const std::string& name, const Tensor& ours, const Tensor& reference) {
  return testing::report_difference(name, ours, reference);
}

SAM2Config micro_config() { return load_model_config(testing::fixture_path("sam2_micro_a/meta.json")); }

std::shared_ptr<MemoryAttention> micro_memory_attention() {
  return std::make_shared<MemoryAttention>(memory_attention_options(micro_config().memory_attention));
}

std::shared_ptr<MemoryEncoder> micro_memory_encoder() {
  return std::make_shared<MemoryEncoder>(memory_encoder_options(micro_config().memory_encoder));
}

io::NamedTensors official_state(const std::string& prefix) {
  return io::select_prefix(io::load_safetensors(testing::fixture_path("sam2_micro_a/model.safetensors")), prefix);
}

void check_official_keys(nn::Module& module, const std::string& prefix) {
  io::NamedTensors reference = official_state(prefix);
  io::NamedTensors ours = module.state_dict();
  std::vector<std::string> reference_keys, our_keys;
  for (auto& [name, tensor] : reference) reference_keys.push_back(name);
  for (auto& [name, tensor] : ours) our_keys.push_back(name);
  INFO(prefix);
  CHECK(our_keys == reference_keys);  // same keys in the same order as PyTorch's state_dict
  for (size_t i = 0; i < std::min(ours.size(), reference.size()); ++i) {
    INFO(ours[i].first);
    CHECK(ours[i].second.shape() == reference[i].second.shape());
  }
  CHECK(module.load_state_dict(reference, /*strict=*/true).ok());
}

void load_official(nn::Module& module, const std::string& prefix) {
  module.load_state_dict(official_state(prefix));
  module.eval();
}

// The official angle of channel pair j of grid token n (float64): t_x(n) f_j for the first dim / 4 pairs,
// t_y(n) f_(j - dim / 4) for the others, f_k = theta^(-4k / dim).
double rope_angle(int64_t n, int64_t j, int64_t dim, int64_t end_x, double theta = 10000.0) {
  const int64_t quarter = dim / 4;
  const double t = static_cast<double>(j < quarter ? n % end_x : n / end_x);
  return t / std::pow(theta, 4.0 * static_cast<double>(j % quarter) / static_cast<double>(dim));
}

// Rotates rows of `dim` values: row i by the angles of grid token token_of_row(i) (no rotation for -1),
// as the complex product (a + ib) e^{i angle} on each pair.
std::vector<double> rotate_rows(std::vector<double> values, int64_t dim, int64_t end_x,
                                const std::function<int64_t(int64_t)>& token_of_row) {
  const auto rows = static_cast<int64_t>(values.size()) / dim;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t token = token_of_row(row);
    if (token < 0) continue;
    for (int64_t j = 0; j < dim / 2; ++j) {
      double& a = values[row * dim + 2 * j];
      double& b = values[row * dim + 2 * j + 1];
      const double angle = rope_angle(token, j, dim, end_x);
      const double real = a * std::cos(angle) - b * std::sin(angle);
      const double imaginary = a * std::sin(angle) + b * std::cos(angle);
      a = real;
      b = imaginary;
    }
  }
  return values;
}

void randomize(nn::Module& module, Generator& generator) {
  NoGradGuard no_grad;
  for (auto& [name, parameter] : module.named_parameters()) {
    Tensor noise = randn(parameter.shape(), parameter.dtype(), &generator);
    bool norm_weight = name.find("norm") != std::string::npos && name.ends_with(".weight");
    parameter.copy_(norm_weight ? add(mul(noise, 0.1), 1.0) : mul(noise, 0.3));
  }
}

// Central differences (step 1e-6) of loss() at a few random entries of every tensor (parameters and
// inputs), against the gradients one backward left in their .grad; prints each tensor's worst difference.
void check_finite_differences(const std::string& what, const std::function<Tensor()>& loss,
                              const std::vector<std::pair<std::string, Tensor>>& tensors, Generator& generator) {
  for (const auto& [name, tensor] : tensors) tensor.set_grad(Tensor());
  loss().backward();
  const double step = 1e-6;
  double worst_ratio = 0.0;
  for (const auto& [name, tensor] : tensors) {
    INFO(what << " " << name);
    REQUIRE(tensor.grad().defined());
    std::vector<double> analytic = tensor.grad().contiguous().to_vector<double>();
    double* values = tensor.data<double>();
    double max_difference = 0.0;
    for (int probe = 0; probe < 3; ++probe) {
      const auto index = static_cast<int64_t>(generator.next_u64() % static_cast<uint64_t>(tensor.numel()));
      NoGradGuard no_grad;
      const double original = values[index];
      values[index] = original + step;
      tensor.bump_version();
      const double plus = loss().item();
      values[index] = original - step;
      tensor.bump_version();
      const double minus = loss().item();
      values[index] = original;
      tensor.bump_version();
      const double numeric = (plus - minus) / (2 * step);
      const double difference = std::abs(numeric - analytic[index]);
      CHECK(difference <= 1e-6 + 1e-5 * std::abs(numeric));
      max_difference = std::max(max_difference, difference);
      worst_ratio = std::max(worst_ratio, difference / (1e-6 + 1e-5 * std::abs(numeric)));
    }
    std::printf("  %-52s max |numeric - analytic| %.3e\n", name.c_str(), max_difference);
  }
  std::printf("%s float64 finite differences: worst error / tolerance %.3e (tolerance 1e-6 + 1e-5 |numeric|)\n",
              what.c_str(), worst_ratio);
}

std::vector<std::pair<std::string, Tensor>> parameters_and(nn::Module& module,
                                                           std::vector<std::pair<std::string, Tensor>> inputs) {
  std::vector<std::pair<std::string, Tensor>> tensors = module.named_parameters();
  tensors.insert(tensors.end(), inputs.begin(), inputs.end());
  return tensors;
}

}  // namespace

TEST_CASE("memory modules: state_dict keys and shapes equal the official ones", "[sam2]") {
  check_official_keys(*micro_memory_attention(), "memory_attention.");
  check_official_keys(*micro_memory_encoder(), "memory_encoder.");

  // Optional parts: no gamma without layer scale, no out_proj when out_dim == in_dim, proj with
  // input_projection; the default MaskDownSampler (kernel 4, stride 4) has two stages.
  MemoryEncoderOptions options = memory_encoder_options(micro_config().memory_encoder);
  options.out_dim = options.in_dim;
  options.fuser.layer.layer_scale_init_value = 0.0;
  options.fuser.input_projection = true;
  options.fuser.dim = options.in_dim;
  options.mask_downsampler = {.embed_dim = options.in_dim};
  std::vector<std::string> keys;
  for (auto& [name, tensor] : MemoryEncoder(options).state_dict()) keys.push_back(name);
  const std::vector<std::string> expected = {
      "mask_downsampler.encoder.0.weight", "mask_downsampler.encoder.0.bias", "mask_downsampler.encoder.1.weight",
      "mask_downsampler.encoder.1.bias",   "mask_downsampler.encoder.3.weight", "mask_downsampler.encoder.3.bias",
      "mask_downsampler.encoder.4.weight", "mask_downsampler.encoder.4.bias",   "mask_downsampler.encoder.6.weight",
      "mask_downsampler.encoder.6.bias",   "pix_feat_proj.weight",              "pix_feat_proj.bias",
      "fuser.proj.weight",                 "fuser.proj.bias",                   "fuser.layers.0.dwconv.weight",
      "fuser.layers.0.dwconv.bias",        "fuser.layers.0.norm.weight",        "fuser.layers.0.norm.bias",
      "fuser.layers.0.pwconv1.weight",     "fuser.layers.0.pwconv1.bias",       "fuser.layers.0.pwconv2.weight",
      "fuser.layers.0.pwconv2.bias",       "fuser.layers.1.dwconv.weight",      "fuser.layers.1.dwconv.bias",
      "fuser.layers.1.norm.weight",        "fuser.layers.1.norm.bias",          "fuser.layers.1.pwconv1.weight",
      "fuser.layers.1.pwconv1.bias",       "fuser.layers.1.pwconv2.weight",     "fuser.layers.1.pwconv2.bias"};
  CHECK(keys == expected);

  // get_clones: the cloned layers start from the same parameters.
  auto attention = micro_memory_attention();
  auto first = attention->layers->at<MemoryAttentionLayer>(0).state_dict();
  auto second = attention->layers->at<MemoryAttentionLayer>(1).state_dict();
  REQUIRE(first.size() == second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i].second.to_vector<float>() == second[i].second.to_vector<float>());
  }
}

TEST_CASE("MemoryAttention matches the official forward and backward on the micro weights", "[sam2]") {
  auto reference = load("sam2_micro_a_memory.safetensors");
  auto attention = micro_memory_attention();
  load_official(*attention, "memory_attention.");
  for (const std::string prefix : {"attention", "attention_square"}) {
    INFO(prefix);
    std::map<std::string, Tensor> inputs;
    for (const char* name : {"curr", "curr_pos", "memory", "memory_pos"}) {
      inputs[name] = reference.at(prefix + "." + name).clone().set_requires_grad(true);
    }
    const auto pointer_tokens = static_cast<int64_t>(reference.at(prefix + ".num_obj_ptr_tokens").item());
    attention->zero_grad();
    Tensor output = attention->forward(inputs["curr"], inputs["memory"], inputs["curr_pos"], inputs["memory_pos"],
                                       pointer_tokens);
    CHECK(compare(prefix + ".output", output, reference.at(prefix + ".output")) <= kForwardTolerance);
    sum(mul(output, reference.at(prefix + ".grad_seed"))).backward();
    for (auto& [name, tensor] : inputs) {
      CHECK(compare(prefix + ".grad." + name, tensor.grad(), reference.at(prefix + ".grad." + name)) <=
            kGradientTolerance);
    }
    if (prefix != "attention") continue;
    for (auto& [name, parameter] : attention->named_parameters()) {
      REQUIRE(parameter.grad().defined());
      CHECK(compare(prefix + ".grad." + name, parameter.grad(), reference.at(prefix + ".grad." + name)) <=
            kGradientTolerance);
    }
  }
}

TEST_CASE("MemoryEncoder matches the official forward and backward on the micro weights", "[sam2]") {
  auto reference = load("sam2_micro_a_memory.safetensors");
  auto encoder = micro_memory_encoder();
  load_official(*encoder, "memory_encoder.");
  Tensor pix_feat = reference.at("encoder.pix_feat").clone().set_requires_grad(true);
  Tensor masks = reference.at("encoder.masks").clone().set_requires_grad(true);
  MemoryEncoderOutput output = encoder->forward(pix_feat, masks, /*skip_mask_sigmoid=*/false);
  REQUIRE(output.vision_pos_enc.size() == 1);
  CHECK(compare("encoder.vision_features", output.vision_features, reference.at("encoder.vision_features")) <=
        kForwardTolerance);
  CHECK(compare("encoder.vision_pos_enc", output.vision_pos_enc[0], reference.at("encoder.vision_pos_enc")) <=
        kForwardTolerance);
  sum(mul(output.vision_features, reference.at("encoder.grad_seed"))).backward();
  CHECK(compare("encoder.grad.pix_feat", pix_feat.grad(), reference.at("encoder.grad.pix_feat")) <= kGradientTolerance);
  CHECK(compare("encoder.grad.masks", masks.grad(), reference.at("encoder.grad.masks")) <= kGradientTolerance);
  int compared = 0;
  for (auto& [name, parameter] : encoder->named_parameters()) {
    auto found = reference.find("encoder.grad." + name);
    if (found == reference.end()) continue;  // the fixture leaves out the largest weight
    CHECK(compare("encoder.grad." + name, parameter.grad(), found->second) <= kGradientTolerance);
    ++compared;
  }
  CHECK(compared == static_cast<int>(encoder->named_parameters().size()) - 1);

  // skip_mask_sigmoid feeds the masks to the downsampler as they are.
  NoGradGuard no_grad;
  Tensor skipped = encoder->forward(reference.at("encoder.pix_feat"), sigmoid(reference.at("encoder.masks")), true)
                       .vision_features;
  CHECK(compare("encoder.vision_features (sigmoid outside, skip_mask_sigmoid)", skipped,
                reference.at("encoder.vision_features")) <= kForwardTolerance);
}

TEST_CASE("compute_axial_cis: x angles on the first half of the pairs, y on the second", "[sam2]") {
  // A 3 x 2 grid (end_x 3 columns, end_y 2 rows), dim 8: pairs 0, 1 rotate with the column, 2, 3 with the row.
  const int64_t dim = 8, end_x = 3, end_y = 2;
  AxialCis cis = compute_axial_cis(dim, end_x, end_y);
  REQUIRE(cis.cos.shape() == (Shape{end_x * end_y, dim / 2}));
  REQUIRE(cis.cos.dtype() == DType::f32);
  std::vector<double> cos_values = cis.cos.to_vector<double>(), sin_values = cis.sin.to_vector<double>();
  std::vector<double> expected_cos, expected_sin;
  for (int64_t n = 0; n < end_x * end_y; ++n) {
    for (int64_t j = 0; j < dim / 2; ++j) {
      expected_cos.push_back(std::cos(rope_angle(n, j, dim, end_x)));
      expected_sin.push_back(std::sin(rope_angle(n, j, dim, end_x)));
    }
  }
  CHECK(compare("compute_axial_cis cos (8, 3x2)", cis.cos, from_vector(expected_cos, {6, 4})) <= kRopeTolerance);
  CHECK(compare("compute_axial_cis sin (8, 3x2)", cis.sin, from_vector(expected_sin, {6, 4})) <= kRopeTolerance);
  // Spelled out: token 5 is column 2, row 1; f_0 = 1 and f_1 = 10000^(-1/2) = 0.01.
  CHECK(cos_values[5 * 4 + 0] == Approx(std::cos(2.0)).epsilon(1e-6));
  CHECK(sin_values[5 * 4 + 1] == Approx(std::sin(0.02)).epsilon(1e-6));
  CHECK(cos_values[5 * 4 + 2] == Approx(std::cos(1.0)).epsilon(1e-6));
  CHECK(sin_values[5 * 4 + 3] == Approx(std::sin(0.01)).epsilon(1e-6));
  CHECK_THROWS_WITH(compute_axial_cis(6, 2, 2), Catch::Contains("multiple of 4"));
}

TEST_CASE("apply_rotary_enc rotates adjacent channel pairs, tiling the keys' table with repeat_freqs_k", "[sam2]") {
  Generator generator(11);
  const int64_t dim = 8, end_x = 2, tokens = 4;  // a 2 x 2 grid
  AxialCis cis = compute_axial_cis(dim, end_x, 2);
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor q = randn({2, 1, tokens, dim}, dtype, &generator);
    Tensor k = randn({2, 1, 3 * tokens, dim}, dtype, &generator);
    auto [q_out, k_out] = apply_rotary_enc(q, k, cis, /*repeat_freqs_k=*/true);
    CHECK(q_out.dtype() == dtype);
    CHECK(k_out.dtype() == dtype);
    auto expected_q = rotate_rows(q.to_vector<double>(), dim, end_x, [&](int64_t row) { return row % tokens; });
    auto expected_k = rotate_rows(k.to_vector<double>(), dim, end_x, [&](int64_t row) { return row % tokens; });
    std::string suffix = dtype == DType::f32 ? " (f32)" : " (f64)";
    CHECK(compare("apply_rotary_enc q" + suffix, q_out, from_vector(expected_q, q.shape())) <= kRopeTolerance);
    CHECK(compare("apply_rotary_enc k, table tiled 3 times" + suffix, k_out, from_vector(expected_k, k.shape())) <=
          kRopeTolerance);
  }
  Tensor q = randn({1, 1, tokens, dim}, DType::f32, &generator);
  CHECK_FALSE(apply_rotary_enc(q, Tensor(), cis).second.defined());
  Tensor no_keys = zeros({1, 1, 0, dim});
  CHECK(apply_rotary_enc(q, no_keys, cis).second.is_same(no_keys));
  CHECK_THROWS_WITH(apply_rotary_enc(q, randn({1, 1, 2 * tokens, dim}), cis), Catch::Contains("repeat_freqs_k"));
  CHECK_THROWS_WITH(apply_rotary_enc(q, randn({1, 1, 6, dim}), cis, true), Catch::Contains("multiple"));
  CHECK_THROWS_WITH(apply_rotary_enc(randn({1, 1, 3, dim}), Tensor(), cis), Catch::Contains("freqs_cis"));
}

TEST_CASE("RoPEAttention: tiled key rotations, unrotated object pointers and the square-grid table", "[sam2]") {
  Generator generator(5);
  // Cross-attention as in SAM 2 at toy size: 2 heads of 4 channels, keys of 6 channels, a 3 x 2 query grid.
  RoPEAttention attention(RoPEAttentionOptions{.embedding_dim = 8,
                                               .num_heads = 2,
                                               .kv_in_dim = 6,
                                               .rope_k_repeat = true,
                                               .feat_sizes = {3, 2}},
                          &generator);
  attention.to(DType::f64);
  attention.eval();
  const int64_t batch = 2, head_dim = 4, heads = 2;

  // The attention evaluated directly: projections, rotations of the query grid (end_x columns) on the
  // queries and on every key but the last `excluded` (key i uses grid token i mod Lq), softmax, out_proj.
  auto direct = [&](const Tensor& q, const Tensor& k, const Tensor& v, int64_t excluded, int64_t end_x) {
    NoGradGuard no_grad;
    const int64_t lq = q.size(1), lk = k.size(1);
    auto project = [&](const nn::Linear& layer, const Tensor& x) {
      return linear(x, layer.weight, layer.bias).contiguous().to_vector<double>();
    };
    // Rows of `dim` channels hold one head's slice of one token: row = (b * L + token) * heads + head.
    auto qs = rotate_rows(project(*attention.q_proj, q), head_dim, end_x,
                          [&](int64_t row) { return (row / heads) % lq; });
    auto ks = rotate_rows(project(*attention.k_proj, k), head_dim, end_x, [&](int64_t row) {
      const int64_t token = (row / heads) % lk;
      return token < lk - excluded ? token % lq : -1;
    });
    auto vs = project(*attention.v_proj, v);
    std::vector<double> heads_out(batch * lq * heads * head_dim, 0.0);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = 0; i < lq; ++i) {
          std::vector<double> scores(lk);
          double top = -1e300, total = 0.0;
          for (int64_t j = 0; j < lk; ++j) {
            double dot = 0.0;
            for (int64_t c = 0; c < head_dim; ++c) {
              dot += qs[((b * lq + i) * heads + h) * head_dim + c] * ks[((b * lk + j) * heads + h) * head_dim + c];
            }
            scores[j] = dot / std::sqrt(static_cast<double>(head_dim));
            top = std::max(top, scores[j]);
          }
          for (double& score : scores) total += (score = std::exp(score - top));
          for (int64_t j = 0; j < lk; ++j) {
            for (int64_t c = 0; c < head_dim; ++c) {
              heads_out[((b * lq + i) * heads + h) * head_dim + c] +=
                  scores[j] / total * vs[((b * lk + j) * heads + h) * head_dim + c];
            }
          }
        }
      }
    }
    Tensor merged = from_vector(heads_out, {batch, lq, heads * head_dim});
    return linear(merged, attention.out_proj->weight, attention.out_proj->bias);
  };

  Tensor q = randn({batch, 6, 8}, DType::f64, &generator);
  Tensor k = randn({batch, 2 * 6 + 3, 6}, DType::f64, &generator);
  Tensor v = randn({batch, 2 * 6 + 3, 6}, DType::f64, &generator);
  CHECK(compare("RoPEAttention, 2 frames + 3 unrotated keys", attention(q, k, v, 3), direct(q, k, v, 3, 3)) <=
        kRopeTolerance);
  Tensor k_frames = k.narrow(1, 0, 12), v_frames = v.narrow(1, 0, 12);
  CHECK(compare("RoPEAttention, 2 frames, every key rotated", attention(q, k_frames, v_frames),
                direct(q, k_frames, v_frames, 0, 3)) <= kRopeTolerance);
  // Every key excluded: only the queries rotate.
  Tensor k_pointers = k.narrow(1, 12, 3), v_pointers = v.narrow(1, 12, 3);
  CHECK(compare("RoPEAttention, only unrotated keys", attention(q, k_pointers, v_pointers, 3),
                direct(q, k_pointers, v_pointers, 3, 3)) <= kRopeTolerance);

  // 9 queries do not fit the 3 x 2 table: a 3 x 3 table replaces it, and stays.
  Tensor q9 = randn({batch, 9, 8}, DType::f64, &generator);
  Tensor k9 = randn({batch, 9, 6}, DType::f64, &generator);
  CHECK(compare("RoPEAttention, 9 queries (3 x 3 grid)", attention(q9, k9, k9), direct(q9, k9, k9, 0, 3)) <=
        kRopeTolerance);
  CHECK(attention.freqs_cis_for(9).cos.size(0) == 9);
  CHECK_THROWS_WITH(attention(q, k, v, 3), Catch::Contains("square"));
  CHECK_THROWS_WITH(attention(q9, k9, k9, 10), Catch::Contains("num_k_exclude_rope"));

  RoPEAttention self_attention(RoPEAttentionOptions{.embedding_dim = 8, .num_heads = 1, .feat_sizes = {2, 2}});
  Tensor x = randn({1, 4, 8});
  CHECK_THROWS_WITH(self_attention(x, randn({1, 8, 8}), randn({1, 8, 8})), Catch::Contains("rope_k_repeat"));
  CHECK_THROWS_WITH(RoPEAttention(RoPEAttentionOptions{.embedding_dim = 12, .num_heads = 2}),
                    Catch::Contains("multiple of 4"));
}

TEST_CASE("MemoryAttention: float64 gradients match finite differences", "[sam2]") {
  Generator generator(21);
  // Every branch: positions at the self-attention and the cross-attention queries, gelu, several heads, a
  // downsampled cross-attention, a non-square feat_sizes grid, tiled memory frames and pointer tokens.
  MemoryAttentionOptions options{
      .d_model = 8,
      .pos_enc_at_input = true,
      .layer = {.activation = "gelu",
                .cross_attention = {.embedding_dim = 8,
                                    .num_heads = 1,
                                    .downsample_rate = 2,
                                    .kv_in_dim = 4,
                                    .rope_k_repeat = true,
                                    .feat_sizes = {3, 2}},
                .d_model = 8,
                .dim_feedforward = 12,
                .pos_enc_at_attn = true,
                .pos_enc_at_cross_attn_keys = true,
                .pos_enc_at_cross_attn_queries = true,
                .self_attention = {.embedding_dim = 8, .num_heads = 2, .feat_sizes = {3, 2}}},
      .num_layers = 2};
  MemoryAttention attention(options, &generator);
  randomize(attention, generator);
  attention.to(DType::f64);
  attention.eval();
  Tensor curr = randn({6, 2, 8}, DType::f64, &generator).set_requires_grad(true);
  Tensor curr_pos = randn({6, 2, 8}, DType::f64, &generator).set_requires_grad(true);
  Tensor memory = randn({2 * 6 + 2, 2, 4}, DType::f64, &generator).set_requires_grad(true);
  Tensor memory_pos = randn({2 * 6 + 2, 2, 4}, DType::f64, &generator).set_requires_grad(true);
  Tensor seed = randn({6, 2, 8}, DType::f64, &generator);
  auto loss = [&] { return sum(mul(attention.forward(curr, memory, curr_pos, memory_pos, 2), seed)); };
  check_finite_differences(
      "MemoryAttention", loss,
      parameters_and(attention,
                     {{"curr", curr}, {"curr_pos", curr_pos}, {"memory", memory}, {"memory_pos", memory_pos}}),
      generator);

  // Dropout acts only in training (eval results may differ in the last bit with the buffers' alignment).
  NoGradGuard no_grad;
  Tensor evaluated = attention.forward(curr, memory, curr_pos, memory_pos, 2);
  CHECK(compare("MemoryAttention eval, twice", attention.forward(curr, memory, curr_pos, memory_pos, 2), evaluated) <=
        1e-12);
  attention.train();
  Tensor trained = attention.forward(curr, memory, curr_pos, memory_pos, 2);
  CHECK(sum(abs(sub(trained, evaluated))).item() > 0.0);
}

TEST_CASE("MemoryEncoder: float64 gradients match finite differences", "[sam2]") {
  Generator generator(31);
  MemoryEncoderOptions options{
      .out_dim = 4,
      .mask_downsampler = {.embed_dim = 8, .kernel_size = 3, .stride = 2, .padding = 1, .total_stride = 4},
      .fuser = {.layer = {.dim = 8, .kernel_size = 3, .padding = 1, .layer_scale_init_value = 0.5},
                .num_layers = 2,
                .dim = 8,
                .input_projection = true},
      .position_encoding = {.num_pos_feats = 4},
      .in_dim = 8};
  MemoryEncoder encoder(options, &generator);
  randomize(encoder, generator);
  encoder.to(DType::f64);
  encoder.eval();
  Tensor pix_feat = randn({2, 8, 4, 4}, DType::f64, &generator).set_requires_grad(true);
  Tensor masks = mul(randn({2, 1, 16, 16}, DType::f64, &generator), 3.0).set_requires_grad(true);
  Tensor seed = randn({2, 4, 4, 4}, DType::f64, &generator);
  auto loss = [&] { return sum(mul(encoder.forward(pix_feat, masks).vision_features, seed)); };
  check_finite_differences("MemoryEncoder", loss, parameters_and(encoder, {{"pix_feat", pix_feat}, {"masks", masks}}),
                           generator);

  MemoryEncoderOutput output = encoder.forward(pix_feat, masks);
  CHECK(output.vision_pos_enc[0].shape() == (Shape{2, 4, 4, 4}));
  CHECK(output.vision_pos_enc[0].dtype() == DType::f64);
  CHECK_THROWS_WITH(encoder.forward(pix_feat, randn({2, 1, 12, 12}, DType::f64)), Catch::Contains("MemoryEncoder"));
  CHECK_THROWS_WITH(MaskDownSampler(MaskDownSamplerOptions{.stride = 4, .total_stride = 8}),
                    Catch::Contains("power"));
}

}  // namespace qatd::sam2
