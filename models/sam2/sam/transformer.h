#pragma once
// sam2/modeling/sam/transformer.py: the mask decoder's two-way transformer, its attention layer, and the
// rotary-position attention of memory attention.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "engine/nn/nn.h"
#include "engine/random.h"
#include "models/sam2/position_encoding.h"

namespace qatd::sam2 {

struct AttentionOptions {
  int64_t embedding_dim = 0;
  int64_t num_heads = 0;
  int64_t downsample_rate = 1;
  double dropout = 0.0;
  std::optional<int64_t> kv_in_dim = std::nullopt;  // embedding_dim when absent
};

// sam2.modeling.sam.transformer.Attention
// Multi-head attention whose projections map to embedding_dim / downsample_rate channels.
// Subclasses (RoPEAttention) reuse the projections and the head helpers and override forward.
class Attention : public nn::Module {
 public:
  explicit Attention(const AttentionOptions& options, Generator* generator = nullptr);

  // q (B, Nq, embedding_dim), k and v (B, Nk, kv_in_dim): (B, Nq, embedding_dim).
  Tensor operator()(const Tensor& q, const Tensor& k, const Tensor& v) { return finish_forward(forward(q, k, v)); }
  virtual Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v);
  std::string type_name() const override { return "Attention"; }

  int64_t embedding_dim, kv_in_dim, internal_dim, num_heads;
  double dropout_p;
  std::shared_ptr<nn::Linear> q_proj, k_proj, v_proj, out_proj;

 protected:
  void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v) const;
  // (B, N, C) -> (B, num_heads, N, C / num_heads), channels split head-major.
  Tensor separate_heads(const Tensor& x) const;
  // (B, num_heads, N, c) -> (B, N, num_heads * c).
  Tensor recombine_heads(const Tensor& x) const;
  // softmax(q k^T / sqrt(head_dim)) v per head; dropout on the attention weights only in training.
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v) const;

  Generator* generator_;
};

struct RoPEAttentionOptions {
  // Attention's keyword arguments.
  int64_t embedding_dim = 0;
  int64_t num_heads = 0;
  int64_t downsample_rate = 1;
  double dropout = 0.0;
  std::optional<int64_t> kv_in_dim = std::nullopt;  // embedding_dim when absent
  // RoPEAttention's own.
  double rope_theta = 10000.0;
  bool rope_k_repeat = false;                 // keys may hold several query grids (memory frames)
  std::array<int64_t, 2> feat_sizes{64, 64};  // (w, h) of the query grid
};

// sam2.modeling.sam.transformer.RoPEAttention
// Attention with axial rotary position encoding on the projected, per-head queries and keys (the
// head dim must be a multiple of 4). The table starts as the feat_sizes grid; a query count that
// differs from the current table's makes it the square grid of side sqrt(Lq), kept for later calls, as
// the official attribute freqs_cis is. Keys get the query grid's rotations (tiled over Lk / Lq frames
// with rope_k_repeat, which Lk != Lq requires), except the last num_k_exclude_rope keys (object
// pointers), which are not rotated.
class RoPEAttention : public Attention {
 public:
  explicit RoPEAttention(const RoPEAttentionOptions& options, Generator* generator = nullptr);

  using Attention::operator();
  Tensor operator()(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_k_exclude_rope) {
    return finish_forward(forward(q, k, v, num_k_exclude_rope));
  }
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v) override { return forward(q, k, v, 0); }
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_k_exclude_rope);
  std::string type_name() const override { return "RoPEAttention"; }

  // The table for the next call with `tokens` queries (see the class comment); throws when it would
  // need a square grid and `tokens` is not a square.
  const AxialCis& freqs_cis_for(int64_t tokens);

  double rope_theta;
  bool rope_k_repeat;
  std::array<int64_t, 2> feat_sizes;

 private:
  const AxialCis& table(int64_t end_x, int64_t end_y);

  std::map<std::pair<int64_t, int64_t>, AxialCis> tables_;  // by (end_x, end_y)
  std::pair<int64_t, int64_t> current_;
};

struct TwoWayAttentionBlockOptions {
  int64_t embedding_dim = 0;
  int64_t num_heads = 0;
  int64_t mlp_dim = 2048;
  nn::Activation activation = nn::Activation::relu;
  int64_t attention_downsample_rate = 2;
  bool skip_first_layer_pe = false;
};

// sam2.modeling.sam.transformer.TwoWayAttentionBlock
// Post-norm block: token self-attention, tokens -> image cross-attention, token MLP, image -> tokens
// cross-attention. With skip_first_layer_pe the self-attention output replaces the queries (no
// residual, no positional encoding).
class TwoWayAttentionBlock : public nn::Module {
 public:
  explicit TwoWayAttentionBlock(const TwoWayAttentionBlockOptions& options, Generator* generator = nullptr);

  // queries (B, Nq, C), keys (B, Nk, C), query_pe like queries, key_pe broadcastable to keys:
  // the updated (queries, keys).
  std::pair<Tensor, Tensor> forward(const Tensor& queries, const Tensor& keys, const Tensor& query_pe,
                                    const Tensor& key_pe);
  std::string type_name() const override { return "TwoWayAttentionBlock"; }

  bool skip_first_layer_pe;
  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<nn::LayerNorm> norm1;
  std::shared_ptr<Attention> cross_attn_token_to_image;
  std::shared_ptr<nn::LayerNorm> norm2;
  std::shared_ptr<nn::MLP> mlp;
  std::shared_ptr<nn::LayerNorm> norm3;
  std::shared_ptr<nn::LayerNorm> norm4;
  std::shared_ptr<Attention> cross_attn_image_to_token;
};

struct TwoWayTransformerOptions {
  int64_t depth = 0;
  int64_t embedding_dim = 0;
  int64_t num_heads = 0;
  int64_t mlp_dim = 0;
  nn::Activation activation = nn::Activation::relu;
  int64_t attention_downsample_rate = 2;
};

// sam2.modeling.sam.transformer.TwoWayTransformer
class TwoWayTransformer : public nn::Module {
 public:
  explicit TwoWayTransformer(const TwoWayTransformerOptions& options, Generator* generator = nullptr);

  // image_embedding (B, C, H, W), image_pe (B or 1, C, H, W), point_embedding (B, N, C):
  // (queries (B, N, C), keys (B, H * W, C)).
  std::pair<Tensor, Tensor> forward(const Tensor& image_embedding, const Tensor& image_pe,
                                    const Tensor& point_embedding);
  std::string type_name() const override { return "TwoWayTransformer"; }

  int64_t depth, embedding_dim, num_heads, mlp_dim;
  std::shared_ptr<nn::ModuleList> layers;
  std::shared_ptr<Attention> final_attn_token_to_image;
  std::shared_ptr<nn::LayerNorm> norm_final_attn;
};

}  // namespace qatd::sam2
