#pragma once
// sam2/modeling/memory_attention.py: the transformer that conditions the current frame's features on the
// memory bank (past frames' memories and object pointers).
#include <cstdint>
#include <memory>
#include <string>

#include "engine/nn/nn.h"
#include "engine/random.h"
#include "models/sam2/sam/transformer.h"
#include "models/sam2/sam2_config.h"

namespace qatd::sam2 {

// Every argument is required in Python; the defaults are the values of the official configs.
struct MemoryAttentionLayerOptions {
  std::string activation = "relu";  // relu | gelu (glu cannot feed linear2 and is rejected)
  RoPEAttentionOptions cross_attention = {
      .embedding_dim = 256, .num_heads = 1, .dropout = 0.1, .kv_in_dim = 64, .rope_k_repeat = true};
  int64_t d_model = 256;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  bool pos_enc_at_attn = false;
  bool pos_enc_at_cross_attn_keys = true;
  bool pos_enc_at_cross_attn_queries = false;
  RoPEAttentionOptions self_attention = {.embedding_dim = 256, .num_heads = 1, .dropout = 0.1};
};

// sam2.modeling.memory_attention.MemoryAttentionLayer
// Pre-norm block on batch-first tokens: self-attention (RoPE), cross-attention to the memory (RoPE on all
// keys but the last num_k_exclude_rope), then a Linear-activation-Linear MLP, each added to the residual
// stream. Dropout (nn.Dropout p = dropout after each branch and inside the MLP, and the attentions' own on
// the attention weights) acts only in training mode.
class MemoryAttentionLayer : public nn::Module {
 public:
  explicit MemoryAttentionLayer(const MemoryAttentionLayerOptions& options, Generator* generator = nullptr);

  // tgt (B, L, d_model); memory (B, S, kv_in_dim); pos (memory positions, like memory) and query_pos (like
  // tgt) may be undefined when the options do not use them. Returns (B, L, d_model).
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& pos = Tensor(),
                 const Tensor& query_pos = Tensor(), int64_t num_k_exclude_rope = 0);
  std::string type_name() const override { return "MemoryAttentionLayer"; }

  int64_t d_model, dim_feedforward;
  double dropout_value;
  std::string activation_str;
  bool pos_enc_at_attn, pos_enc_at_cross_attn_queries, pos_enc_at_cross_attn_keys;

  std::shared_ptr<RoPEAttention> self_attn;
  std::shared_ptr<RoPEAttention> cross_attn_image;
  std::shared_ptr<nn::Linear> linear1;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> linear2;
  std::shared_ptr<nn::LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<nn::Dropout> dropout1, dropout2, dropout3;

 private:
  Tensor forward_sa(const Tensor& tgt, const Tensor& query_pos);
  Tensor forward_ca(const Tensor& tgt, const Tensor& memory, const Tensor& query_pos, const Tensor& pos,
                    int64_t num_k_exclude_rope);

  nn::Activation activation_;
};

struct MemoryAttentionOptions {
  int64_t d_model = 256;              // required in Python
  bool pos_enc_at_input = true;       // required in Python
  MemoryAttentionLayerOptions layer;  // required in Python; cloned num_layers times
  int64_t num_layers = 4;             // required in Python
  bool batch_first = true;
};

// sam2.modeling.memory_attention.MemoryAttention
// A stack of MemoryAttentionLayers and a final LayerNorm (eps 1e-5, as all its norms).
class MemoryAttention : public nn::Module {
 public:
  explicit MemoryAttention(const MemoryAttentionOptions& options, Generator* generator = nullptr);

  // The official layouts: curr (L, B, d_model) and curr_pos like it, memory (S, B, kv_in_dim) and
  // memory_pos like it (sequence first). With pos_enc_at_input, 0.1 * curr_pos is added to curr first.
  // With batch_first the layers see (B, L, .) transposes and the result is transposed back; otherwise
  // the tensors reach the layers as given (whose dim 0 is then taken as the batch, as in Python).
  // num_obj_ptr_tokens: the last memory tokens, which the cross-attention does not rotate. curr_pos and
  // memory_pos may be undefined when no option uses them. Returns (L, B, d_model) (a transposed view
  // with batch_first).
  Tensor forward(const Tensor& curr, const Tensor& memory, const Tensor& curr_pos = Tensor(),
                 const Tensor& memory_pos = Tensor(), int64_t num_obj_ptr_tokens = 0);
  std::string type_name() const override { return "MemoryAttention"; }

  int64_t d_model, num_layers;
  bool pos_enc_at_input, batch_first;
  std::shared_ptr<nn::ModuleList> layers;
  std::shared_ptr<nn::LayerNorm> norm;
};

// The options SAM2Base builds from its config's memory_attention block.
RoPEAttentionOptions rope_attention_options(const RoPEAttentionConfig& config);
MemoryAttentionOptions memory_attention_options(const MemoryAttentionConfig& config);

}  // namespace qatd::sam2
