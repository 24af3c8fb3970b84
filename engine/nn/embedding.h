#pragma once
// nn.Embedding: a table of num_embeddings rows of embedding_dim, initialized N(0, 1).
#include <optional>

#include "engine/nn/module.h"
#include "engine/random.h"

namespace qatd::nn {

class Embedding : public UnaryModule {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt,
            Generator* generator = nullptr);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }

  std::optional<int64_t> padding_idx;
  Tensor weight;
};

}  // namespace qatd::nn
