#include "engine/nn/embedding.h"

#include "engine/autograd/grad_mode.h"
#include "engine/ops/indexing.h"

namespace qatd::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx,
                     Generator* generator)
    : padding_idx(padding_idx) {
  QATD_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got {} x {}",
             num_embeddings, embedding_dim);
  if (padding_idx) {
    QATD_CHECK(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings,
               "Embedding: padding_idx {} is outside the {} embeddings", *padding_idx, num_embeddings);
    if (*this->padding_idx < 0) *this->padding_idx += num_embeddings;
  }
  weight = randn({num_embeddings, embedding_dim}, DType::f32, generator);
  if (this->padding_idx) {
    NoGradGuard no_grad;
    weight.select(0, *this->padding_idx).zero_();
  }
  weight.set_requires_grad(true);
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices, padding_idx); }

}  // namespace qatd::nn
