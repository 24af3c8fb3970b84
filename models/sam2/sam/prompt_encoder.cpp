#include "models/sam2/sam/prompt_encoder.h"

#include <vector>

#include "engine/engine.h"

namespace qatd::sam2 {

PromptEncoder::PromptEncoder(const PromptEncoderOptions& options, Generator* generator)
    : embed_dim(options.embed_dim),
      image_embedding_size(options.image_embedding_size),
      input_image_size(options.input_image_size),
      mask_input_size{4 * options.image_embedding_size[0], 4 * options.image_embedding_size[1]} {
  QATD_CHECK(embed_dim > 0 && embed_dim % 2 == 0, "PromptEncoder: embed_dim must be positive and even, got {}",
             embed_dim);
  QATD_CHECK(
      image_embedding_size[0] > 0 && image_embedding_size[1] > 0 && input_image_size[0] > 0 && input_image_size[1] > 0,
      "PromptEncoder: image_embedding_size {} and input_image_size {} must be positive", image_embedding_size,
      input_image_size);
  QATD_CHECK(options.mask_in_chans >= 4 && options.mask_in_chans % 4 == 0,
             "PromptEncoder: mask_in_chans must be a positive multiple of 4, got {}", options.mask_in_chans);
  pe_layer = register_module("pe_layer", std::make_shared<PositionEmbeddingRandom>(embed_dim / 2, 1.0, generator));
  point_embeddings = register_module("point_embeddings", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < num_point_embeddings; ++i) {
    point_embeddings->append(std::make_shared<nn::Embedding>(1, embed_dim, std::nullopt, generator));
  }
  not_a_point_embed =
      register_module("not_a_point_embed", std::make_shared<nn::Embedding>(1, embed_dim, std::nullopt, generator));

  const int64_t hidden = options.mask_in_chans / 4, chans = options.mask_in_chans;
  const Conv2dOptions stride2{.stride = {2, 2}};
  mask_downscaling = register_module("mask_downscaling", std::make_shared<nn::Sequential>());
  mask_downscaling->append(
      std::make_shared<nn::Conv2d>(1, hidden, std::array<int64_t, 2>{2, 2}, stride2, true, generator));
  mask_downscaling->append(std::make_shared<nn::LayerNorm2d>(hidden));
  mask_downscaling->append(std::make_shared<nn::ActivationLayer>(options.activation));
  mask_downscaling->append(
      std::make_shared<nn::Conv2d>(hidden, chans, std::array<int64_t, 2>{2, 2}, stride2, true, generator));
  mask_downscaling->append(std::make_shared<nn::LayerNorm2d>(chans));
  mask_downscaling->append(std::make_shared<nn::ActivationLayer>(options.activation));
  mask_downscaling->append(
      std::make_shared<nn::Conv2d>(chans, embed_dim, std::array<int64_t, 2>{1, 1}, Conv2dOptions{}, true, generator));
  no_mask_embed =
      register_module("no_mask_embed", std::make_shared<nn::Embedding>(1, embed_dim, std::nullopt, generator));
}

const Tensor& PromptEncoder::point_embedding_weight(size_t index) const {
  return point_embeddings->at<nn::Embedding>(index).weight;
}

Tensor PromptEncoder::get_dense_pe() {
  return pe_layer->forward(image_embedding_size[0], image_embedding_size[1]).unsqueeze(0);
}

Tensor PromptEncoder::embed_points(const Tensor& points, const Tensor& labels, bool pad) {
  QATD_CHECK(points.defined() && labels.defined(), "PromptEncoder: point coords and labels must both be given");
  QATD_CHECK(points.dim() == 3 && points.size(2) == 2, "PromptEncoder: point coords must be (B, N, 2), got {}",
             shape_str(points.shape()));
  QATD_CHECK(is_floating(points.dtype()), "PromptEncoder: point coords must be floating point, got {}", points.dtype());
  QATD_CHECK(labels.dim() == 2 && labels.size(0) == points.size(0) && labels.size(1) == points.size(1),
             "PromptEncoder: point labels must be (B, N) = ({}, {}) to match point coords {}, got {}", points.size(0),
             points.size(1), shape_str(points.shape()), shape_str(labels.shape()));
  QATD_CHECK(labels.dtype() != DType::boolean, "PromptEncoder: point labels must be numbers, not bool");
  Tensor coords = add(points, 0.5);  // the centre of the pixel
  Tensor point_labels = labels;
  if (pad) {
    const int64_t batch = points.size(0);
    coords = cat({coords, zeros({batch, 1, 2}, coords.dtype())}, 1);
    point_labels = cat({labels, full({batch, 1}, -1.0, labels.dtype())}, 1);
  }
  Tensor embedding = pe_layer->forward_with_coords(coords, input_image_size[0], input_image_size[1]);
  // The same chain of selections as the official code: padding points take only not_a_point_embed
  // (their encoding receives no gradient), the others add the embedding of their label.
  embedding = where(eq(point_labels, -1.0).unsqueeze(-1), not_a_point_embed->weight, embedding);
  for (size_t label = 0; label < point_embeddings->size(); ++label) {
    Tensor selected = eq(point_labels, static_cast<double>(label)).unsqueeze(-1);
    embedding = where(selected, add(embedding, point_embedding_weight(label)), embedding);
  }
  return embedding;
}

Tensor PromptEncoder::embed_boxes(const Tensor& boxes) {
  QATD_CHECK(boxes.defined() && boxes.dim() >= 1 && boxes.size(-1) == 4 && boxes.numel() > 0,
             "PromptEncoder: boxes must be (B, 4) as x0 y0 x1 y1, got {}",
             boxes.defined() ? shape_str(boxes.shape()) : std::string("undefined"));
  QATD_CHECK(is_floating(boxes.dtype()), "PromptEncoder: boxes must be floating point, got {}", boxes.dtype());
  Tensor corners = add(boxes, 0.5).reshape({-1, 2, 2});
  Tensor embedding = pe_layer->forward_with_coords(corners, input_image_size[0], input_image_size[1]);
  // Corner 0 adds point_embeddings[2], corner 1 adds point_embeddings[3].
  return add(embedding, cat({point_embedding_weight(2), point_embedding_weight(3)}, 0));
}

Tensor PromptEncoder::embed_masks(const Tensor& masks) {
  QATD_CHECK(masks.defined(), "PromptEncoder: masks are undefined");
  QATD_CHECK(masks.dim() == 4 && masks.size(1) == 1 && masks.size(2) == mask_input_size[0] &&
                 masks.size(3) == mask_input_size[1],
             "PromptEncoder: masks must be (B, 1, {}, {}) (4x the image embedding), got {}", mask_input_size[0],
             mask_input_size[1], shape_str(masks.shape()));
  return (*mask_downscaling)(masks);
}

PromptEmbeddings PromptEncoder::forward(const Tensor& point_coords, const Tensor& point_labels, const Tensor& boxes,
                                        const Tensor& masks) {
  QATD_CHECK(point_coords.defined() == point_labels.defined(),
             "PromptEncoder: point coords and labels must be given together (got only the {})",
             point_coords.defined() ? "coords" : "labels");
  int64_t batch = 1;
  if (point_coords.defined()) {
    batch = point_coords.dim() > 0 ? point_coords.size(0) : 0;
  } else if (boxes.defined()) {
    batch = boxes.dim() > 0 ? boxes.size(0) : 0;
  } else if (masks.defined()) {
    batch = masks.dim() > 0 ? masks.size(0) : 0;
  }
  QATD_CHECK(batch > 0, "PromptEncoder: the prompts have no batch dimension");

  std::vector<Tensor> sparse;
  if (point_coords.defined()) sparse.push_back(embed_points(point_coords, point_labels, !boxes.defined()));
  if (boxes.defined()) {
    Tensor box_embedding = embed_boxes(boxes);
    QATD_CHECK(box_embedding.size(0) == batch, "PromptEncoder: {} boxes {} do not match the batch size {}",
               box_embedding.size(0), shape_str(boxes.shape()), batch);
    sparse.push_back(box_embedding);
  }
  PromptEmbeddings out;
  Tensor weight = point_embedding_weight(0);
  out.sparse_embeddings = sparse.empty() ? zeros({batch, 0, embed_dim}, weight.dtype()) : cat(sparse, 1);
  if (masks.defined()) {
    out.dense_embeddings = embed_masks(masks);
    QATD_CHECK(masks.size(0) == batch, "PromptEncoder: masks {} do not match the batch size {}",
               shape_str(masks.shape()), batch);
  } else {
    out.dense_embeddings = no_mask_embed->weight.reshape({1, embed_dim, 1, 1})
                               .expand({batch, embed_dim, image_embedding_size[0], image_embedding_size[1]});
  }
  return out;
}

}  // namespace qatd::sam2
