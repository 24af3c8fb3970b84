#pragma once
// SAM 2's image path for many prompts on one image: the image encoder once, then the prompt encoder
// and mask decoder (SAM2Base::forward_sam_heads, the path the trainer runs) for each prompt, batched.
// Evaluation and teacher pseudo-labelling use it, so they see exactly what training optimizes.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "models/sam2/sam2_base.h"

namespace qatd::train {

struct ImageEmbedding {
  Tensor image_embed;                 // (1, C, h, w)
  std::vector<Tensor> high_res_feats; // each (1, C_l, h_l, w_l)
};

// image: (1, 3, S, S) normalized. Runs under no_grad.
ImageEmbedding embed_image(sam2::SAM2Base& model, const Tensor& image);

// N prompts: coords (N, P, 2) in model-input pixels, labels (N, P) i32; mask_inputs (N, 1, m, m) or
// undefined. Multimask output when P <= 1, as in training. Runs under no_grad, in chunks of
// `chunk` prompts so that memory stays bounded.
sam2::SamOutputs predict_prompts(sam2::SAM2Base& model, const ImageEmbedding& embedding, const Tensor& coords,
                                 const Tensor& labels, const Tensor& mask_inputs = Tensor(), int64_t chunk = 16);

}  // namespace qatd::train
