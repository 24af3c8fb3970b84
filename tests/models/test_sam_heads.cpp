// The SAM heads (PromptEncoder, MaskDecoder, TwoWayTransformer) against the official code's tensors in the
// sam2_micro_a fixture: hidden dim 32, image size 256, so a 16x16 image embedding and 64x64 low-res masks.
// Tolerances: forward 1e-5 and parameter gradients 1e-4 (relative, ||ours - ref|| / ||ref||).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "models/sam2/sam/mask_decoder.h"
#include "models/sam2/sam/prompt_encoder.h"

namespace qatd::sam2 {
namespace {

constexpr double kForwardTolerance = 1e-5;
constexpr double kGradientTolerance = 1e-4;

std::map<std::string, Tensor> load(const std::string& name) {
  std::map<std::string, Tensor> tensors;
  for (auto& [key, tensor] : io::load_safetensors(testing::micro_fixture_path(name))) tensors.emplace(key, tensor);
  return tensors;
}

// Relative error ||ours - ref|| / ||ref||, printed with the max abs difference. A positive `scale`
// replaces ||ref|| as the denominator.
double compare(const std::string& name, const Tensor& ours, const Tensor& reference, double scale = 0.0) {
  REQUIRE(ours.shape() == reference.shape());
  return testing::report_difference(name, ours, reference, scale);
}

// The heads as SAM2Base._build_sam_heads builds them for the fixture's config (sam2.1 options).
struct Heads {
  std::shared_ptr<PromptEncoder> prompt_encoder;
  std::shared_ptr<MaskDecoder> mask_decoder;
};

Heads make_heads(int64_t dim = 32, int64_t image_size = 256, Generator* generator = nullptr) {
  Heads heads;
  heads.prompt_encoder =
      std::make_shared<PromptEncoder>(PromptEncoderOptions{.embed_dim = dim,
                                                           .image_embedding_size = {image_size / 16, image_size / 16},
                                                           .input_image_size = {image_size, image_size},
                                                           .mask_in_chans = 16},
                                      generator);
  auto transformer = std::make_shared<TwoWayTransformer>(
      TwoWayTransformerOptions{.depth = 2, .embedding_dim = dim, .num_heads = 8, .mlp_dim = 2048}, generator);
  heads.mask_decoder = std::make_shared<MaskDecoder>(MaskDecoderOptions{.transformer_dim = dim,
                                                                        .num_multimask_outputs = 3,
                                                                        .iou_head_depth = 3,
                                                                        .iou_head_hidden_dim = 256,
                                                                        .use_high_res_features = true,
                                                                        .iou_prediction_use_sigmoid = true,
                                                                        .dynamic_multimask_via_stability = true,
                                                                        .dynamic_multimask_stability_delta = 0.05,
                                                                        .dynamic_multimask_stability_thresh = 0.98,
                                                                        .pred_obj_scores = true,
                                                                        .pred_obj_scores_mlp = true,
                                                                        .use_multimask_token_for_obj_ptr = true},
                                                     transformer, generator);
  return heads;
}

Heads load_heads() {
  Heads heads = make_heads();
  io::NamedTensors state = io::load_safetensors(testing::micro_fixture_path("model.safetensors"));
  heads.prompt_encoder->load_state_dict(io::select_prefix(state, "sam_prompt_encoder."));
  heads.mask_decoder->load_state_dict(io::select_prefix(state, "sam_mask_decoder."));
  heads.prompt_encoder->eval();
  heads.mask_decoder->eval();
  return heads;
}

std::vector<Tensor> high_res_features(std::map<std::string, Tensor>& io) {
  return {io.at("high_res_feats.0"), io.at("high_res_feats.1")};
}

}  // namespace

TEST_CASE("SAM heads: state_dict keys and shapes equal the official ones", "[sam2]") {
  Heads heads = make_heads();
  io::NamedTensors state = io::load_safetensors(testing::micro_fixture_path("model.safetensors"));
  for (auto [prefix, module] : {std::pair<std::string, nn::Module*>{"sam_prompt_encoder.", heads.prompt_encoder.get()},
                                {"sam_mask_decoder.", heads.mask_decoder.get()}}) {
    io::NamedTensors reference = io::select_prefix(state, prefix);
    io::NamedTensors ours = module->state_dict();
    std::vector<std::string> reference_keys, our_keys;
    for (auto& [name, tensor] : reference) reference_keys.push_back(name);
    for (auto& [name, tensor] : ours) our_keys.push_back(name);
    INFO(prefix);
    CHECK(our_keys == reference_keys);  // same keys in the same order as PyTorch's state_dict
    for (size_t i = 0; i < std::min(ours.size(), reference.size()); ++i) {
      INFO(ours[i].first);
      CHECK(ours[i].second.shape() == reference[i].second.shape());
    }
    CHECK(module->load_state_dict(reference, /*strict=*/true).ok());
  }
  // The Gaussian matrix is a buffer, not a parameter.
  auto parameters = heads.prompt_encoder->named_parameters();
  CHECK(std::none_of(parameters.begin(), parameters.end(),
                     [](const auto& entry) { return entry.first == "pe_layer.positional_encoding_gaussian_matrix"; }));
}

TEST_CASE("PromptEncoder matches the official sparse, dense and dense positional embeddings", "[sam2]") {
  auto io = load("image_io.safetensors");
  Heads heads = load_heads();
  NoGradGuard no_grad;
  Tensor labels = io.at("prompt.labels").unsqueeze(0);
  PromptEmbeddings embeddings = heads.prompt_encoder->forward(io.at("prompt.points_transformed"), labels);
  CHECK(compare("sparse_embeddings", embeddings.sparse_embeddings, io.at("sparse_embeddings")) <= kForwardTolerance);
  CHECK(compare("dense_embeddings", embeddings.dense_embeddings, io.at("dense_embeddings")) <= kForwardTolerance);
  CHECK(compare("dense_pe", heads.prompt_encoder->get_dense_pe(), io.at("dense_pe")) <= kForwardTolerance);
}

TEST_CASE("PromptEncoder embeds boxes as the box-corner points and masks through mask_downscaling", "[sam2]") {
  Heads heads = load_heads();
  NoGradGuard no_grad;
  Tensor boxes = from_vector<float>({10.f, 20.f, 200.f, 150.f, 0.f, 0.f, 255.f, 255.f}, {2, 4});
  // _embed_boxes adds point_embeddings[2] and [3] to the corners, as _embed_points does for labels 2, 3.
  Tensor corners = heads.prompt_encoder->embed_boxes(boxes);
  Tensor as_points =
      heads.prompt_encoder->embed_points(boxes.reshape({2, 2, 2}), from_vector<int32_t>({2, 3, 2, 3}, {2, 2}), false);
  CHECK(compare("boxes vs corner points", corners, as_points) == 0.0);

  // With boxes the points get no padding point: (B, points + 2 corners, C).
  Tensor points = from_vector<float>({50.f, 60.f, 70.f, 80.f}, {2, 1, 2});
  Tensor labels = from_vector<int64_t>({1, 0}, {2, 1});
  PromptEmbeddings both = heads.prompt_encoder->forward(points, labels, boxes);
  CHECK(both.sparse_embeddings.shape() == Shape{2, 3, 32});
  CHECK(compare("points then boxes", both.sparse_embeddings.narrow(1, 1, 2), corners) == 0.0);
  // Without boxes a padding point (label -1) is appended: only not_a_point_embed.
  PromptEmbeddings padded = heads.prompt_encoder->forward(points, labels);
  CHECK(padded.sparse_embeddings.shape() == Shape{2, 2, 32});
  CHECK(compare("padding point", padded.sparse_embeddings.select(1, 1),
                heads.prompt_encoder->not_a_point_embed->weight.expand({2, 32})) == 0.0);
  // No prompt at all: an empty sparse set and the no-mask embedding.
  PromptEmbeddings none = heads.prompt_encoder->forward(Tensor(), Tensor());
  CHECK(none.sparse_embeddings.shape() == Shape{1, 0, 32});
  CHECK(none.dense_embeddings.shape() == Shape{1, 32, 16, 16});

  Tensor masks = sin(mul(arange(0.0, 2.0 * 64 * 64, 1.0), 0.01)).reshape({2, 1, 64, 64});
  PromptEmbeddings dense = heads.prompt_encoder->forward(Tensor(), Tensor(), Tensor(), masks);
  CHECK(dense.dense_embeddings.shape() == Shape{2, 32, 16, 16});
  CHECK(dense.sparse_embeddings.shape() == Shape{2, 0, 32});
  CHECK(compare("mask path vs mask_downscaling", dense.dense_embeddings,
                (*heads.prompt_encoder->mask_downscaling)(masks)) == 0.0);
  // The official PromptEncoder with the fixture's weights on this mask input gave these sum and sum of
  // squares of dense_embeddings (computed once with the sam2 package; the fixture has no mask prompt).
  Tensor dense64 = dense.dense_embeddings.to(DType::f64);
  CHECK(compare("mask path: sum vs official", sum(dense64).reshape({1}), from_vector<double>({-117.22015053623181})) <=
        kForwardTolerance);
  CHECK(compare("mask path: sum of squares vs official", sum(square(dense64)).reshape({1}),
                from_vector<double>({6257.338663286334})) <= kForwardTolerance);
}

TEST_CASE("MaskDecoder matches the official multimask outputs", "[sam2]") {
  auto io = load("image_io.safetensors");
  Heads heads = load_heads();
  NoGradGuard no_grad;
  MaskDecoderOutput out = heads.mask_decoder->forward(
      io.at("image_embed"), io.at("dense_pe"), io.at("sparse_embeddings"), io.at("dense_embeddings"),
      /*multimask_output=*/true, /*repeat_image=*/false, high_res_features(io));
  CHECK(compare("decoder.low_res_masks", out.masks, io.at("decoder.low_res_masks")) <= kForwardTolerance);
  CHECK(compare("decoder.iou", out.iou_pred, io.at("decoder.iou")) <= kForwardTolerance);
  CHECK(compare("decoder.sam_tokens", out.sam_tokens_out, io.at("decoder.sam_tokens")) <= kForwardTolerance);
  CHECK(compare("decoder.object_score_logits", out.object_score_logits, io.at("decoder.object_score_logits")) <=
        kForwardTolerance);
}

TEST_CASE("SAM heads: parameter gradients match the official backward", "[sam2]") {
  auto io = load("image_io.safetensors");
  auto grads = load("image_grads.safetensors");
  Heads heads = load_heads();
  // The image features are constant inputs here; the prompt encoder runs inside the graph.
  PromptEmbeddings embeddings =
      heads.prompt_encoder->forward(io.at("prompt.points_transformed"), io.at("prompt.labels").unsqueeze(0));
  MaskDecoderOutput out = heads.mask_decoder->forward(io.at("image_embed"), heads.prompt_encoder->get_dense_pe(),
                                                      embeddings.sparse_embeddings, embeddings.dense_embeddings, true,
                                                      false, high_res_features(io));
  Tensor loss =
      add(add(sum(mul(out.masks, io.at("grad_seed.low_res_masks"))), sum(mul(out.iou_pred, io.at("grad_seed.iou")))),
          sum(mul(out.object_score_logits, io.at("grad_seed.object_score_logits"))));
  CHECK(compare("loss", loss.reshape({1}), io.at("loss")) <= kForwardTolerance);
  loss.backward();

  // conv_s0 / conv_s1 are applied to the backbone features by SAM2Base.forward_image, outside the
  // decoder; their gradients need the image encoder path and are not checked here.
  const std::set<std::string> skipped = {"sam_mask_decoder.conv_s0.weight", "sam_mask_decoder.conv_s0.bias",
                                         "sam_mask_decoder.conv_s1.weight", "sam_mask_decoder.conv_s1.bias"};
  int compared = 0;
  for (auto [prefix, module] : {std::pair<std::string, nn::Module*>{"sam_prompt_encoder.", heads.prompt_encoder.get()},
                                {"sam_mask_decoder.", heads.mask_decoder.get()}}) {
    for (auto& [name, parameter] : module->named_parameters()) {
      const std::string key = prefix + name;
      if (skipped.count(key)) continue;
      auto reference = grads.find("grad." + key);
      if (reference == grads.end()) {
        // Only the mask path (mask_downscaling) is unreached by a points-only prompt.
        INFO(key);
        CHECK(name.rfind("mask_downscaling.", 0) == 0);
        CHECK(!parameter.grad().defined());
        continue;
      }
      Tensor gradient = parameter.grad().defined() ? parameter.grad() : zeros_like(parameter);
      // A key bias shifts every score of a query row by the same q . b_k, which softmax ignores: its
      // exact gradient is zero and both sides hold float32 rounding noise. It is measured against
      // the norm of the same layer's k_proj.weight gradient instead.
      double scale = 0.0;
      if (name.size() >= 11 && name.compare(name.size() - 11, 11, "k_proj.bias") == 0) {
        Tensor weight_reference = grads.at("grad." + key.substr(0, key.size() - 4) + "weight");
        scale = std::sqrt(sum(square(weight_reference.to(DType::f64))).item());
      }
      CHECK(compare("grad." + key + (scale > 0.0 ? " (vs ||k_proj.weight grad||)" : ""), gradient, reference->second,
                    scale) <= kGradientTolerance);
      ++compared;
    }
  }
  // Every reference gradient of the two heads, less the four of conv_s0 / conv_s1.
  int expected = 0;
  for (auto& [name, tensor] : grads) {
    bool ours = name.rfind("grad.sam_prompt_encoder.", 0) == 0 || name.rfind("grad.sam_mask_decoder.", 0) == 0;
    if (ours && !skipped.count(name.substr(5))) ++expected;
  }
  CHECK(compared == expected);
}

TEST_CASE("MaskDecoder: a box prompt with multimask_output=false takes the official stability fallback", "[sam2]") {
  auto io = load("image_io.safetensors");
  Heads heads = load_heads();
  NoGradGuard no_grad;
  // SAM2ImagePredictor.predict: the box (orig pixels) normalized by the 720x480 image and scaled to 256,
  // fed as corner points labelled 2, 3 before the first click. Token 0's stability is 0.32 here (official
  // code), so the output is the multimask token with the best IoU (token 1).
  Tensor box = div(io.at("prompt.box").reshape({1, 2, 2}), from_vector<float>({720.f, 480.f}));
  box = mul(box, 256.0);
  Tensor coords = cat({box, io.at("prompt.points_transformed").narrow(1, 0, 1)}, 1);
  Tensor labels = from_vector<int32_t>({2, 3, 1}, {1, 3});
  PromptEmbeddings embeddings = heads.prompt_encoder->forward(coords, labels);
  MaskDecoderOutput out = heads.mask_decoder->forward(io.at("image_embed"), heads.prompt_encoder->get_dense_pe(),
                                                      embeddings.sparse_embeddings, embeddings.dense_embeddings, false,
                                                      false, high_res_features(io));
  CHECK(compare("predict.box.low_res", clamp(out.masks, -32.0, 32.0).squeeze(1), io.at("predict.box.low_res")) <=
        kForwardTolerance);
  CHECK(compare("predict.box.iou", out.iou_pred.squeeze(1), io.at("predict.box.iou")) <= kForwardTolerance);
}

TEST_CASE("MaskDecoder: dynamic multimask selection by stability", "[sam2]") {
  Generator generator(7);
  Heads heads = make_heads(16, 64, &generator);
  MaskDecoder& decoder = *heads.mask_decoder;
  const int64_t pixels = 64;  // 8 x 8 masks
  // Batch 0: token 0 clearly positive (stability 1). Batch 1: token 0 inside (-delta, delta)
  // everywhere (stability 0). Batch 2: token 0 clearly negative (empty union: stability 1).
  // Batch 3: one pixel of 64 at 0 (stability 63/64 >= 0.98). Batch 4: two pixels at 0 (62/64 < 0.98).
  std::vector<float> logits(5 * 4 * pixels);
  for (int64_t b = 0; b < 5; ++b) {
    for (int64_t t = 0; t < 4; ++t) {
      for (int64_t p = 0; p < pixels; ++p) {
        float value = static_cast<float>(10 * t + b) + 0.01f * static_cast<float>(p);  // tokens 1-3: distinct
        if (t == 0) {
          value = b == 0 ? 5.f : b == 1 ? (p % 2 ? 0.04f : -0.04f) : b == 2 ? -5.f : 3.f;
          if ((b == 3 && p == 0) || (b == 4 && p < 2)) value = 0.f;
        }
        logits[(b * 4 + t) * pixels + p] = value;
      }
    }
  }
  Tensor all_masks = from_vector<float>(logits, {5, 4, 8, 8}).set_requires_grad(true);
  // Token 0 has the highest IoU everywhere, so a fallback must still pick among tokens 1-3.
  Tensor all_iou = from_vector<float>({0.9f, 0.2f, 0.7f, 0.4f, 0.9f, 0.2f, 0.7f, 0.4f, 0.9f, 0.8f,
                                       0.1f, 0.3f, 0.9f, 0.1f, 0.2f, 0.6f, 0.9f, 0.1f, 0.2f, 0.6f},
                                      {5, 4});
  Tensor stability = decoder.get_stability_scores(all_masks.slice(1, 0, 1));
  CHECK(stability.to_vector<float>() == std::vector<float>{1.f, 0.f, 1.f, 63.f / 64.f, 62.f / 64.f});

  auto [masks, iou] = decoder.dynamic_multimask_via_stability(all_masks, all_iou);
  REQUIRE(masks.shape() == Shape{5, 1, 8, 8});
  REQUIRE(iou.shape() == Shape{5, 1});
  const std::vector<int64_t> expected_token = {0, 2, 0, 0, 3};
  CHECK(iou.to_vector<float>() == std::vector<float>{0.9f, 0.7f, 0.9f, 0.9f, 0.6f});
  for (int64_t b = 0; b < 5; ++b) {
    INFO("batch " << b);
    CHECK(masks.select(0, b).to_vector<float>() ==
          all_masks.select(0, b).select(0, expected_token[b]).to_vector<float>());
  }
  // The gradient reaches only the selected token's logits.
  sum(masks).backward();
  Tensor gradient = all_masks.grad().sum({2, 3});
  for (int64_t b = 0; b < 5; ++b) {
    for (int64_t t = 0; t < 4; ++t) {
      CHECK(gradient.select(0, b).select(0, t).item() == (t == expected_token[b] ? 64.0 : 0.0));
    }
  }
}

TEST_CASE("MaskDecoder: output selection by mode, object-pointer tokens and the repeat_image path", "[sam2]") {
  auto io = load("image_io.safetensors");
  Heads heads = load_heads();
  MaskDecoder& decoder = *heads.mask_decoder;
  NoGradGuard no_grad;
  Tensor image_embed = io.at("image_embed"), image_pe = io.at("dense_pe");
  Tensor sparse = io.at("sparse_embeddings"), dense = io.at("dense_embeddings");
  std::vector<Tensor> features = high_res_features(io);
  MaskPrediction all = decoder.predict_masks(image_embed, image_pe, sparse, dense, false, features);
  REQUIRE(all.masks.shape() == Shape{1, 4, 64, 64});
  REQUIRE(all.mask_tokens_out.shape() == Shape{1, 4, 32});

  // Recomputing the same outputs is compared at 1e-6, not bitwise: the engine's attention kernel rounds
  // differently with the operands' memory alignment for head dim 2 (last-bit differences).
  constexpr double kRecompute = 1e-6;
  // Eval, single mask: the stability rule over the four tokens.
  MaskDecoderOutput single = decoder.forward(image_embed, image_pe, sparse, dense, false, false, features);
  auto [dynamic_masks, dynamic_iou] = decoder.dynamic_multimask_via_stability(all.masks, all.iou_pred);
  CHECK(compare("eval single mask", single.masks, dynamic_masks) <= kRecompute);
  CHECK(compare("eval single iou", single.iou_pred, dynamic_iou) <= kRecompute);
  CHECK(compare("single-mask object pointer token", single.sam_tokens_out, all.mask_tokens_out.narrow(1, 0, 1)) <=
        kRecompute);
  // Training, single mask: always token 0 (dynamic selection is eval-only).
  decoder.train();
  MaskDecoderOutput trained = decoder.forward(image_embed, image_pe, sparse, dense, false, false, features);
  CHECK(compare("train single mask", trained.masks, all.masks.narrow(1, 0, 1)) <= kRecompute);
  CHECK(compare("train single iou", trained.iou_pred, all.iou_pred.narrow(1, 0, 1)) <= kRecompute);
  decoder.eval();
  // Without use_multimask_token_for_obj_ptr, multimask output keeps the single-mask token.
  decoder.use_multimask_token_for_obj_ptr = false;
  MaskDecoderOutput multi = decoder.forward(image_embed, image_pe, sparse, dense, true, false, features);
  CHECK(multi.masks.shape() == Shape{1, 3, 64, 64});
  CHECK(compare("multimask, token 0 pointer", multi.sam_tokens_out, all.mask_tokens_out.narrow(1, 0, 1)) <= kRecompute);
  decoder.use_multimask_token_for_obj_ptr = true;

  // repeat_image: one image, three prompts (high-res features of batch 1 broadcast as in the predictor).
  Tensor sparse3 = cat({sparse, sparse, sparse}, 0), dense3 = cat({dense, dense, dense}, 0);
  MaskDecoderOutput repeated = decoder.forward(image_embed, image_pe, sparse3, dense3, true, true, features);
  CHECK(repeated.masks.shape() == Shape{3, 3, 64, 64});
  CHECK(repeated.iou_pred.shape() == Shape{3, 3});
  CHECK(repeated.sam_tokens_out.shape() == Shape{3, 3, 32});
  CHECK(repeated.object_score_logits.shape() == Shape{3, 1});
  for (int64_t b = 0; b < 3; ++b) {
    CHECK(compare("repeat_image masks[" + std::to_string(b) + "]", repeated.masks.narrow(0, b, 1),
                  io.at("decoder.low_res_masks")) <= kForwardTolerance);
  }
}

TEST_CASE("Attention: dropout only in training, and keys/values of another width", "[sam2]") {
  Generator generator(3);
  Attention attention(
      AttentionOptions{.embedding_dim = 16, .num_heads = 2, .downsample_rate = 2, .dropout = 0.5, .kv_in_dim = 8},
      &generator);
  CHECK(attention.internal_dim == 8);
  CHECK(attention.k_proj->weight.shape() == Shape{8, 8});
  Tensor q = randn({2, 5, 16}, DType::f32, &generator), kv = randn({2, 7, 8}, DType::f32, &generator);
  attention.eval();
  Tensor evaluated = attention(q, kv, kv);
  CHECK(evaluated.shape() == Shape{2, 5, 16});
  attention.dropout_p = 0.0;
  CHECK(compare("eval vs no dropout", evaluated, attention(q, kv, kv)) == 0.0);
  attention.dropout_p = 0.5;
  attention.train();
  Tensor trained = attention(q, kv, kv);
  CHECK(trained.shape() == Shape{2, 5, 16});
  CHECK(compare("train (dropout 0.5) vs eval", trained, evaluated) > 1e-3);
}

TEST_CASE("SAM heads reject bad inputs with clear errors", "[sam2]") {
  auto io = load("image_io.safetensors");
  Heads heads = load_heads();
  PromptEncoder& encoder = *heads.prompt_encoder;
  MaskDecoder& decoder = *heads.mask_decoder;
  NoGradGuard no_grad;
  Tensor points = io.at("prompt.points_transformed");
  REQUIRE_THROWS_WITH(encoder.forward(points, from_vector<int32_t>({1, 0, 1}, {1, 3})),
                      Catch::Contains("PromptEncoder") && Catch::Contains("point labels must be (B, N)"));
  REQUIRE_THROWS_WITH(encoder.forward(points.reshape({1, 4}), from_vector<int32_t>({1, 0}, {1, 2})),
                      Catch::Contains("PromptEncoder: point coords must be (B, N, 2)"));
  REQUIRE_THROWS_WITH(encoder.forward(points, Tensor()), Catch::Contains("must be given together"));
  REQUIRE_THROWS_WITH(encoder.forward(Tensor(), Tensor(), from_vector<float>({1.f, 2.f, 3.f}, {1, 3})),
                      Catch::Contains("PromptEncoder: boxes must be (B, 4)"));
  REQUIRE_THROWS_WITH(encoder.forward(Tensor(), Tensor(), Tensor(), zeros({1, 1, 32, 32})),
                      Catch::Contains("PromptEncoder: masks must be (B, 1, 64, 64)"));

  Tensor image_embed = io.at("image_embed"), image_pe = io.at("dense_pe");
  Tensor sparse = io.at("sparse_embeddings"), dense = io.at("dense_embeddings");
  std::vector<Tensor> features = high_res_features(io);
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, image_pe, zeros({1, 3, 16}), dense, true, false, features),
                      Catch::Contains("MaskDecoder: sparse_prompt_embeddings must be (B, N, 32)"));
  REQUIRE_THROWS_WITH(decoder.forward(zeros({1, 16, 16, 16}), image_pe, sparse, dense, true, false, features),
                      Catch::Contains("MaskDecoder: image_embeddings must be (B, 32, H, W)"));
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, zeros({1, 32, 8, 8}), sparse, dense, true, false, features),
                      Catch::Contains("MaskDecoder: image_pe must be (1, 32, 16, 16)"));
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, image_pe, sparse, zeros({1, 32, 8, 8}), true, false, features),
                      Catch::Contains("MaskDecoder: dense_prompt_embeddings"));
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, image_pe, cat({sparse, sparse}, 0), dense, true, false, features),
                      Catch::Contains("differ in batch size"));
  REQUIRE_THROWS_WITH(decoder.forward(cat({image_embed, image_embed}, 0), image_pe, cat({sparse, sparse}, 0), dense,
                                      true, true, features),
                      Catch::Contains("with repeat_image"));
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, image_pe, sparse, dense, true, false, {}),
                      Catch::Contains("needs 2 high-res feature maps"));
  REQUIRE_THROWS_WITH(decoder.forward(image_embed, image_pe, sparse, dense, true, false, {features[1], features[0]}),
                      Catch::Contains("MaskDecoder: high_res_features[0] must be") && Catch::Contains("4, 64, 64)"));
  REQUIRE_THROWS_WITH(heads.mask_decoder->transformer->forward(image_embed, image_pe, zeros({2, 3, 32})),
                      Catch::Contains("TwoWayTransformer: point_embedding must be"));
  Attention attention(AttentionOptions{.embedding_dim = 16, .num_heads = 2});
  REQUIRE_THROWS_WITH(
      attention(zeros({1, 3, 16}), zeros({1, 4, 16}), zeros({1, 5, 16})),
      Catch::Contains("Attention: k {1, 4, 16} and v {1, 5, 16}") || Catch::Contains("different token counts"));
  REQUIRE_THROWS_WITH(Attention(AttentionOptions{.embedding_dim = 16, .num_heads = 3}),
                      Catch::Contains("num_heads 3 must divide"));
}

}  // namespace qatd::sam2
