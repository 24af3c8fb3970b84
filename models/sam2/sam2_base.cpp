#include "models/sam2/sam2_base.h"

#include <set>

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

PositionEmbeddingSineOptions sine_options(const PositionEmbeddingSineConfig& config) {
  return {.num_pos_feats = config.num_pos_feats,
          .temperature = config.temperature,
          .normalize = config.normalize,
          .scale = config.scale};
}

std::shared_ptr<ImageEncoder> build_image_encoder(const ImageEncoderConfig& config, Generator* generator) {
  const HieraConfig& trunk = config.trunk;
  auto hiera = std::make_shared<Hiera>(HieraOptions{.embed_dim = trunk.embed_dim,
                                                    .num_heads = trunk.num_heads,
                                                    .drop_path_rate = trunk.drop_path_rate,
                                                    .q_pool = trunk.q_pool,
                                                    .q_stride = trunk.q_stride,
                                                    .stages = trunk.stages,
                                                    .dim_mul = trunk.dim_mul,
                                                    .head_mul = trunk.head_mul,
                                                    .window_pos_embed_bkg_spatial_size =
                                                        trunk.window_pos_embed_bkg_spatial_size,
                                                    .window_spec = trunk.window_spec,
                                                    .global_att_blocks = trunk.global_att_blocks,
                                                    .return_interm_layers = trunk.return_interm_layers},
                                       generator);
  const FpnNeckConfig& neck = config.neck;
  auto fpn = std::make_shared<FpnNeck>(FpnNeckOptions{.position_encoding = sine_options(neck.position_encoding),
                                                      .d_model = neck.d_model,
                                                      .backbone_channel_list = neck.backbone_channel_list,
                                                      .kernel_size = neck.kernel_size,
                                                      .stride = neck.stride,
                                                      .padding = neck.padding,
                                                      .fpn_interp_model = neck.fpn_interp_model,
                                                      .fuse_type = neck.fuse_type,
                                                      .fpn_top_down_levels = neck.fpn_top_down_levels},
                                       generator);
  return std::make_shared<ImageEncoder>(hiera, fpn, ImageEncoderOptions{.scalp = config.scalp});
}

// A parameter initialized with trunc_normal_(std = 0.02), as SAM2Base does for its embeddings.
Tensor embedding_parameter(const Shape& shape, Generator* generator) {
  Tensor parameter = zeros(shape);
  trunc_normal_(parameter, 0.0, 0.02, -2.0, 2.0, generator);
  parameter.set_requires_grad(true);
  return parameter;
}

}  // namespace

SAM2Base::SAM2Base(SAM2Config config_in, Generator* generator)
    : config(std::move(config_in)),
      hidden_dim(sam2::hidden_dim(config)),
      mem_dim(sam2::mem_dim(config)),
      image_size(config.image_size),
      num_feature_levels(sam2::num_feature_levels(config)) {
  validate(config);
  image_encoder = register_module("image_encoder", build_image_encoder(config.image_encoder, generator));
  memory_attention = register_module(
      "memory_attention", std::make_shared<MemoryAttention>(memory_attention_options(config.memory_attention), generator));
  memory_encoder = register_module(
      "memory_encoder", std::make_shared<MemoryEncoder>(memory_encoder_options(config.memory_encoder), generator));

  maskmem_tpos_enc = embedding_parameter({config.num_maskmem, 1, 1, mem_dim}, generator);
  register_parameter("maskmem_tpos_enc", maskmem_tpos_enc);
  no_mem_embed = embedding_parameter({1, 1, hidden_dim}, generator);
  register_parameter("no_mem_embed", no_mem_embed);
  no_mem_pos_enc = embedding_parameter({1, 1, hidden_dim}, generator);
  register_parameter("no_mem_pos_enc", no_mem_pos_enc);
  if (config.pred_obj_scores && config.use_obj_ptrs_in_encoder) {
    no_obj_ptr = embedding_parameter({1, hidden_dim}, generator);
    register_parameter("no_obj_ptr", no_obj_ptr);
  }
  if (config.no_obj_embed_spatial) {
    no_obj_embed_spatial = embedding_parameter({1, mem_dim}, generator);
    register_parameter("no_obj_embed_spatial", no_obj_embed_spatial);
  }

  // _build_sam_heads
  const int64_t embedding_size = sam_image_embedding_size(config);
  sam_prompt_encoder = register_module(
      "sam_prompt_encoder", std::make_shared<PromptEncoder>(
                                PromptEncoderOptions{.embed_dim = hidden_dim,
                                                     .image_embedding_size = {embedding_size, embedding_size},
                                                     .input_image_size = {image_size, image_size},
                                                     .mask_in_chans = 16},
                                generator));
  auto transformer = std::make_shared<TwoWayTransformer>(
      TwoWayTransformerOptions{.depth = 2, .embedding_dim = hidden_dim, .num_heads = 8, .mlp_dim = 2048}, generator);
  MaskDecoderExtraArgs extra = mask_decoder_extra_args(config);
  sam_mask_decoder = register_module(
      "sam_mask_decoder",
      std::make_shared<MaskDecoder>(MaskDecoderOptions{.transformer_dim = hidden_dim,
                                                       .num_multimask_outputs = 3,
                                                       .iou_head_depth = 3,
                                                       .iou_head_hidden_dim = 256,
                                                       .use_high_res_features = config.use_high_res_features_in_sam,
                                                       .iou_prediction_use_sigmoid = config.iou_prediction_use_sigmoid,
                                                       .dynamic_multimask_via_stability =
                                                           extra.dynamic_multimask_via_stability,
                                                       .dynamic_multimask_stability_delta =
                                                           extra.dynamic_multimask_stability_delta,
                                                       .dynamic_multimask_stability_thresh =
                                                           extra.dynamic_multimask_stability_thresh,
                                                       .pred_obj_scores = config.pred_obj_scores,
                                                       .pred_obj_scores_mlp = config.pred_obj_scores_mlp,
                                                       .use_multimask_token_for_obj_ptr =
                                                           config.use_multimask_token_for_obj_ptr},
                                    transformer, generator));
  if (config.use_obj_ptrs_in_encoder) {
    if (config.use_mlp_for_obj_ptr_proj) {
      obj_ptr_proj = register_module(
          "obj_ptr_proj", std::make_shared<nn::MLP>(hidden_dim, hidden_dim, hidden_dim, 3, nn::Activation::relu, false,
                                                    generator));
    } else {
      obj_ptr_proj = register_module("obj_ptr_proj", std::make_shared<nn::Linear>(hidden_dim, hidden_dim, true, generator));
    }
    mask_downsample = register_module(
        "mask_downsample", std::make_shared<nn::Conv2d>(1, 1, std::array<int64_t, 2>{4, 4},
                                                        Conv2dOptions{.stride = {4, 4}}, true, generator));
  } else {
    obj_ptr_proj = register_module("obj_ptr_proj", std::make_shared<nn::ActivationLayer>(nn::Activation::identity));
  }
  if (config.proj_tpos_enc_in_obj_ptrs) {
    obj_ptr_tpos_proj =
        register_module("obj_ptr_tpos_proj", std::make_shared<nn::Linear>(hidden_dim, mem_dim, true, generator));
  } else {
    obj_ptr_tpos_proj =
        register_module("obj_ptr_tpos_proj", std::make_shared<nn::ActivationLayer>(nn::Activation::identity));
  }
}

BackboneOutput SAM2Base::forward_image(const Tensor& image) {
  QATD_CHECK(image.dim() == 4 && image.shape()[1] == 3 && image.shape()[2] == image_size &&
                 image.shape()[3] == image_size,
             "SAM2Base.forward_image: expects (B, 3, {}, {}) normalized images, got {}", image_size, image_size,
             shape_str(image.shape()));
  BackboneOutput out;
  out.trunk_features = (*image_encoder->trunk)(image);
  FpnOutput neck = (*image_encoder->neck)(out.trunk_features);
  // ImageEncoder.forward: drop the `scalp` coarsest levels.
  size_t kept = neck.features.size() - static_cast<size_t>(image_encoder->options.scalp);
  out.backbone_fpn.assign(neck.features.begin(), neck.features.begin() + kept);
  out.vision_pos_enc.assign(neck.pos.begin(), neck.pos.begin() + kept);
  out.vision_features = out.backbone_fpn.back();
  if (config.use_high_res_features_in_sam) {
    out.backbone_fpn[0] = (*sam_mask_decoder->conv_s0)(out.backbone_fpn[0]);
    out.backbone_fpn[1] = (*sam_mask_decoder->conv_s1)(out.backbone_fpn[1]);
  }
  return out;
}

ImageFeatures SAM2Base::image_features(const BackboneOutput& backbone) const {
  QATD_CHECK(static_cast<int64_t>(backbone.backbone_fpn.size()) >= num_feature_levels,
             "SAM2Base: {} feature levels, the SAM heads need {}", backbone.backbone_fpn.size(), num_feature_levels);
  ImageFeatures features;
  size_t first = backbone.backbone_fpn.size() - static_cast<size_t>(num_feature_levels);
  for (size_t level = first; level + 1 < backbone.backbone_fpn.size(); ++level) {
    features.high_res_feats.push_back(backbone.backbone_fpn[level]);
  }
  Tensor lowest = backbone.backbone_fpn.back();
  if (config.directly_add_no_mem_embed) {
    // (1, 1, C) added to the flattened (HW, B, C) features is, per channel, a (1, C, 1, 1) add.
    lowest = add(lowest, no_mem_embed.reshape({1, hidden_dim, 1, 1}));
  }
  features.image_embed = lowest;
  return features;
}

Tensor SAM2Base::dense_pe() const { return sam_prompt_encoder->get_dense_pe(); }

void SAM2Base::load_official_state(const io::NamedTensors& state) { load_state_dict(state, /*strict=*/true); }

io::NamedTensors SAM2Base::official_state() const { return state_dict(); }

}  // namespace qatd::sam2
