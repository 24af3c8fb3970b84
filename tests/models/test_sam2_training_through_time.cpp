// Backpropagation through time: a loss over three tracked frames reaches every module that the
// tracking step uses (image encoder, memory encoder, memory attention, object pointers, the SAM
// heads), and its gradients equal finite differences in float64, as the official training,
// which backpropagates through all frames, needs.
#include <cmath>
#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "models/sam2/checkpoint.h"
#include "models/sam2/sam2_base.h"
#include "tests/test_support.h"

namespace qatd::sam2 {
namespace {

// The micro model at 128 pixels, with sigmoid (not binarized) masks feeding memory so that the
// loss is differentiable everywhere.
SAM2Config tiny_config() {
  std::ifstream stream(testing::micro_fixture_path("meta.json"));
  nlohmann::json meta = nlohmann::json::parse(stream);
  meta["model"]["image_size"] = 128;
  meta["model"]["binarize_mask_from_pts_for_mem_enc"] = false;
  return from_json(meta["model"]);
}

struct Episode {
  std::vector<Tensor> frames;        // (1, 3, 128, 128) each
  std::vector<Tensor> mask_weights;  // the loss's weights on each frame's low-resolution masks
  std::vector<Tensor> pointer_weights;
};

// SAM2Train's loop in miniature: a click on frame 0 (an initial conditioning frame), then
// tracking with memory on frames 1 and 2; every frame's output enters the loss.
Tensor tracking_loss(SAM2Base& model, const Episode& episode) {
  OutputDict outputs;
  PointInputs click{from_vector(std::vector<double>{40.0, 70.0}, {1, 1, 2}), from_vector(std::vector<int32_t>{1}, {1, 1})};
  Tensor loss = zeros({}, DType::f64);
  const int64_t frames = static_cast<int64_t>(episode.frames.size());
  for (int64_t t = 0; t < frames; ++t) {
    BackboneOutput features = model.forward_image(episode.frames[t]);
    bool prompted = t == 0;
    FrameOutput out = model.track_step(t, prompted, features, prompted ? std::optional<PointInputs>(click) : std::nullopt,
                                       Tensor(), outputs, frames);
    loss = add(loss, add(sum(mul(out.pred_masks, episode.mask_weights[t])),
                         sum(mul(out.obj_ptr, episode.pointer_weights[t]))));
    (prompted ? outputs.cond_frame_outputs : outputs.non_cond_frame_outputs)[t] = out;
  }
  return loss;
}

}  // namespace

TEST_CASE("gradients of a 3-frame tracking loss equal finite differences (float64)", "[sam2][video][gradcheck]") {
  SAM2Base model(tiny_config());
  io::NamedTensors state = load_checkpoint_state(testing::micro_fixture_path("model.pt"));
  // The checkpoint's pos_embed etc. fit any image size; only the weights are loaded.
  model.load_official_state(state);
  model.eval();
  model.to(DType::f64);

  Generator generator(11);
  Episode episode;
  for (int t = 0; t < 3; ++t) {
    episode.frames.push_back(randn({1, 3, 128, 128}, DType::f64, &generator));
    episode.mask_weights.push_back(randn({1, 1, 32, 32}, DType::f64, &generator));
    episode.pointer_weights.push_back(randn({1, model.hidden_dim}, DType::f64, &generator));
  }
  tracking_loss(model, episode).backward();

  // A few entries of parameters of every module the tracking path runs through.
  const std::vector<std::string> probes = {
      "image_encoder.trunk.pos_embed",
      "image_encoder.trunk.blocks.2.attn.qkv.weight",
      "memory_encoder.mask_downsampler.encoder.0.weight",
      "memory_encoder.fuser.layers.0.pwconv1.weight",
      "memory_encoder.out_proj.weight",
      "memory_attention.layers.0.self_attn.q_proj.weight",
      "memory_attention.layers.1.cross_attn_image.k_proj.weight",
      "memory_attention.layers.1.cross_attn_image.v_proj.weight",
      "maskmem_tpos_enc",
      "obj_ptr_proj.layers.0.weight",
      "obj_ptr_tpos_proj.weight",
      "no_mem_embed",
      "sam_mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight",
      "sam_mask_decoder.output_hypernetworks_mlps.1.layers.2.weight",
  };
  std::map<std::string, Tensor> parameters;
  for (auto& [name, parameter] : model.named_parameters()) parameters[name] = parameter;
  double worst = 0.0;
  for (const std::string& name : probes) {
    INFO("parameter " << name);
    REQUIRE(parameters.count(name));
    Tensor parameter = parameters[name];
    REQUIRE(parameter.grad().defined());
    std::vector<double> analytic = parameter.grad().to_vector<double>();
    double largest_error = 0.0;
    for (int64_t k = 0; k < 3; ++k) {
      int64_t index = (k * 7919) % parameter.numel();
      double* value = parameter.data<double>() + index;
      const double saved = *value, step = 1e-6;
      NoGradGuard no_grad;
      *value = saved + step;
      double plus = tracking_loss(model, episode).item();
      *value = saved - step;
      double minus = tracking_loss(model, episode).item();
      *value = saved;
      double numeric = (plus - minus) / (2.0 * step);
      double error = std::abs(numeric - analytic[index]);
      CHECK(error <= 1e-6 + 1e-5 * std::abs(numeric));
      largest_error = std::max(largest_error, error);
    }
    std::printf("%-80s max |numeric - analytic| %.3e\n", name.c_str(), largest_error);
    worst = std::max(worst, largest_error);
  }
  std::printf("worst over %zu parameters: %.3e (tolerance 1e-6 + 1e-5 |numeric|)\n", probes.size(), worst);
}

}  // namespace qatd::sam2
