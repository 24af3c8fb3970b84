#pragma once
// State-dict key names of HuggingFace transformers' SAM 2 port (Sam2Model, Sam2VideoModel)
// mapped back to the official ones. transformers renames every official key by fixed rules
// (its convert_sam2*_to_hf.py); the inverse is:
//   vision_encoder.backbone. -> image_encoder.trunk.   vision_encoder.neck. -> image_encoder.neck.
//   neck.convs.N.{weight,bias} -> neck.convs.N.conv.*  patch_embed.projection -> patch_embed.proj
//   prompt_encoder. -> sam_prompt_encoder.              mask_decoder. -> sam_mask_decoder.
//   layer_norm[1-4] -> norm[1-4]   layer_norm_final_attn -> norm_final_attn   o_proj -> out_proj
//   MLPs: proj_in -> layers.0, layers.i -> layers.(i+1), proj_out -> layers.(L-1)
//   prompt_encoder.point_embed.weight (N, C) -> point_embeddings.{0..N-1}.weight (1, C) each
//   shared_embedding.positional_embedding -> pe_layer.positional_encoding_gaussian_matrix
//   shared_image_embedding.positional_embedding: a copy of the same matrix, dropped
//   mask_embed.{conv1,layer_norm1,conv2,layer_norm2,conv3} -> mask_downscaling.{0,1,3,4,6}
//   upscale_conv1 / upscale_layer_norm / upscale_conv2 -> output_upscaling.{0,1,3}
//   memory_encoder: mask_downsampler.layers.k.{conv,layer_norm} -> mask_downsampler.encoder.{3k,3k+1},
//     mask_downsampler.final_conv -> encoder.3n, feature_projection -> pix_feat_proj,
//     memory_fuser -> fuser, depthwise_conv -> dwconv, pointwise_conv[12] -> pwconv[12],
//     scale -> gamma, projection -> out_proj
//   no_memory_embedding -> no_mem_embed, no_memory_positional_encoding -> no_mem_pos_enc,
//   no_object_pointer -> no_obj_ptr, memory_temporal_positional_encoding -> maskmem_tpos_enc,
//   occlusion_spatial_embedding_parameter -> no_obj_embed_spatial,
//   object_pointer_proj -> obj_ptr_proj, temporal_positional_encoding_projection_layer -> obj_ptr_tpos_proj
#include <string>

#include "engine/io/safetensors.h"

namespace qatd::sam2 {

enum class KeyNaming { official, huggingface };

// Which naming a state dict uses, from names only one of them has (image_encoder.trunk. and
// sam_mask_decoder. versus vision_encoder.backbone. and mask_decoder., and so on). A state with
// neither kind of name counts as official; one with both throws, naming an example of each.
KeyNaming detect_key_naming(const io::NamedTensors& state, const std::string& source);

// The same tensors under the official names, in the same order (point_embed's rows in its
// place). Throws naming the key for a name outside SAM 2's modules, for a point_embed.weight
// that is not 2-D, and when the two copies of the positional matrix differ.
io::NamedTensors official_state_from_hf(const io::NamedTensors& hf_state, const std::string& source);

}  // namespace qatd::sam2
