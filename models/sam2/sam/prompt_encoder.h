#pragma once
// sam2/modeling/sam/prompt_encoder.py: sparse (points, boxes) and dense (mask) prompt embeddings.
#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/nn/nn.h"
#include "engine/random.h"
#include "models/sam2/position_encoding.h"

namespace qatd::sam2 {

// The official constructor has no defaults except the activation; SAM 2 builds it with
// embed_dim = hidden_dim, image_embedding_size = image_size / 16, input_image_size = image_size
// and mask_in_chans = 16 (SAM2Base._build_sam_heads).
struct PromptEncoderOptions {
  int64_t embed_dim = 0;
  std::array<int64_t, 2> image_embedding_size{0, 0};  // (H, W)
  std::array<int64_t, 2> input_image_size{0, 0};      // (H, W)
  int64_t mask_in_chans = 0;
  nn::Activation activation = nn::Activation::gelu;
};

struct PromptEmbeddings {
  Tensor sparse_embeddings;  // (B, N, embed_dim)
  Tensor dense_embeddings;   // (B, embed_dim, embed_H, embed_W)
};

// sam2.modeling.sam.prompt_encoder.PromptEncoder
class PromptEncoder : public nn::Module {
 public:
  explicit PromptEncoder(const PromptEncoderOptions& options, Generator* generator = nullptr);

  // Undefined tensors stand for None. point_coords (B, N, 2) pixels (x, y) in the input frame and
  // point_labels (B, N) come together; labels -1 (padding), 0 (negative), 1 (positive), 2 and 3
  // (box corners) pick the added embedding, any other label adds none (as the official code).
  // boxes (B, 4) as x0 y0 x1 y1; masks (B, 1, 4 * embed_H, 4 * embed_W) logits.
  // Without boxes, a padding point labelled -1 is appended to the points.
  PromptEmbeddings forward(const Tensor& point_coords, const Tensor& point_labels, const Tensor& boxes = Tensor(),
                           const Tensor& masks = Tensor());
  // The point encoding at every pixel centre of the image embedding: (1, embed_dim, embed_H, embed_W).
  Tensor get_dense_pe();
  std::string type_name() const override { return "PromptEncoder"; }

  Tensor embed_points(const Tensor& points, const Tensor& labels, bool pad);
  Tensor embed_boxes(const Tensor& boxes);
  Tensor embed_masks(const Tensor& masks);

  int64_t embed_dim;
  std::array<int64_t, 2> image_embedding_size, input_image_size, mask_input_size;
  int64_t num_point_embeddings = 4;  // positive / negative point, two box corners
  std::shared_ptr<PositionEmbeddingRandom> pe_layer;
  std::shared_ptr<nn::ModuleList> point_embeddings;  // nn::Embedding(1, embed_dim) each
  std::shared_ptr<nn::Embedding> not_a_point_embed;
  std::shared_ptr<nn::Sequential> mask_downscaling;
  std::shared_ptr<nn::Embedding> no_mask_embed;

 private:
  const Tensor& point_embedding_weight(size_t index) const;
};

}  // namespace qatd::sam2
