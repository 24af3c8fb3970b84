#include "models/sam2/memory_attention.h"

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

// sam2_utils.get_activation_fn, less glu: it halves the features, which linear2 (dim_feedforward inputs)
// could not take, so the official layer fails with it too.
nn::Activation layer_activation(const std::string& name) {
  if (name == "relu") return nn::Activation::relu;
  if (name == "gelu") return nn::Activation::gelu;
  fail("MemoryAttentionLayer: activation must be relu or gelu, got '{}'", name);
}

void check_tokens(const Tensor& x, const char* what, int64_t dim) {
  QATD_CHECK(x.defined(), "MemoryAttentionLayer: {} is undefined", what);
  QATD_CHECK(x.dim() == 3 && x.size(2) == dim, "MemoryAttentionLayer: {} must be (B, N, {}), got {}", what, dim,
             shape_str(x.shape()));
}

}  // namespace

MemoryAttentionLayer::MemoryAttentionLayer(const MemoryAttentionLayerOptions& options, Generator* generator)
    : d_model(options.d_model),
      dim_feedforward(options.dim_feedforward),
      dropout_value(options.dropout),
      activation_str(options.activation),
      pos_enc_at_attn(options.pos_enc_at_attn),
      pos_enc_at_cross_attn_queries(options.pos_enc_at_cross_attn_queries),
      pos_enc_at_cross_attn_keys(options.pos_enc_at_cross_attn_keys),
      activation_(layer_activation(options.activation)) {
  QATD_CHECK(d_model > 0 && dim_feedforward > 0,
             "MemoryAttentionLayer: d_model {} and dim_feedforward {} must be positive", d_model, dim_feedforward);
  QATD_CHECK(options.self_attention.embedding_dim == d_model && options.cross_attention.embedding_dim == d_model,
             "MemoryAttentionLayer: the attentions' embedding_dim (self {}, cross {}) must equal d_model {}",
             options.self_attention.embedding_dim, options.cross_attention.embedding_dim, d_model);
  self_attn = register_module("self_attn", std::make_shared<RoPEAttention>(options.self_attention, generator));
  QATD_CHECK(self_attn->kv_in_dim == d_model,
             "MemoryAttentionLayer: the self-attention's kv_in_dim {} must equal d_model {}", self_attn->kv_in_dim,
             d_model);
  cross_attn_image =
      register_module("cross_attn_image", std::make_shared<RoPEAttention>(options.cross_attention, generator));
  linear1 = register_module("linear1", std::make_shared<nn::Linear>(d_model, dim_feedforward, true, generator));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(dropout_value, generator));
  linear2 = register_module("linear2", std::make_shared<nn::Linear>(dim_feedforward, d_model, true, generator));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(Shape{d_model}));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(Shape{d_model}));
  norm3 = register_module("norm3", std::make_shared<nn::LayerNorm>(Shape{d_model}));
  dropout1 = register_module("dropout1", std::make_shared<nn::Dropout>(dropout_value, generator));
  dropout2 = register_module("dropout2", std::make_shared<nn::Dropout>(dropout_value, generator));
  dropout3 = register_module("dropout3", std::make_shared<nn::Dropout>(dropout_value, generator));
}

Tensor MemoryAttentionLayer::forward_sa(const Tensor& tgt, const Tensor& query_pos) {
  Tensor normed = (*norm1)(tgt);
  Tensor q = pos_enc_at_attn ? add(normed, query_pos) : normed;
  return add(tgt, (*dropout1)((*self_attn)(q, q, normed)));
}

Tensor MemoryAttentionLayer::forward_ca(const Tensor& tgt, const Tensor& memory, const Tensor& query_pos,
                                        const Tensor& pos, int64_t num_k_exclude_rope) {
  Tensor normed = (*norm2)(tgt);
  Tensor q = pos_enc_at_cross_attn_queries ? add(normed, query_pos) : normed;
  Tensor k = pos_enc_at_cross_attn_keys ? add(memory, pos) : memory;
  return add(tgt, (*dropout2)((*cross_attn_image)(q, k, memory, num_k_exclude_rope)));
}

Tensor MemoryAttentionLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& pos,
                                     const Tensor& query_pos, int64_t num_k_exclude_rope) {
  check_tokens(tgt, "tgt", d_model);
  check_tokens(memory, "memory", cross_attn_image->kv_in_dim);
  if (pos_enc_at_attn || pos_enc_at_cross_attn_queries) {
    QATD_CHECK(query_pos.defined() && query_pos.shape() == tgt.shape(),
               "MemoryAttentionLayer: query_pos must be defined and shaped like tgt {} (pos_enc_at_attn {}, "
               "pos_enc_at_cross_attn_queries {}), got {}",
               shape_str(tgt.shape()), pos_enc_at_attn, pos_enc_at_cross_attn_queries,
               query_pos.defined() ? shape_str(query_pos.shape()) : std::string("undefined"));
  }
  if (pos_enc_at_cross_attn_keys) {
    QATD_CHECK(pos.defined() && pos.shape() == memory.shape(),
               "MemoryAttentionLayer: pos must be defined and shaped like memory {} (pos_enc_at_cross_attn_keys), "
               "got {}",
               shape_str(memory.shape()), pos.defined() ? shape_str(pos.shape()) : std::string("undefined"));
  }
  Tensor x = forward_sa(tgt, query_pos);
  x = forward_ca(x, memory, query_pos, pos, num_k_exclude_rope);
  Tensor hidden = (*dropout)(nn::apply_activation(activation_, (*linear1)((*norm3)(x))));
  return add(x, (*dropout3)((*linear2)(hidden)));
}

MemoryAttention::MemoryAttention(const MemoryAttentionOptions& options, Generator* generator)
    : d_model(options.d_model),
      num_layers(options.num_layers),
      pos_enc_at_input(options.pos_enc_at_input),
      batch_first(options.batch_first) {
  QATD_CHECK(d_model > 0 && num_layers >= 0, "MemoryAttention: d_model {} must be positive and num_layers {} >= 0",
             d_model, num_layers);
  QATD_CHECK(options.layer.d_model == d_model, "MemoryAttention: the layers' d_model {} must equal d_model {}",
             options.layer.d_model, d_model);
  layers = register_module("layers", std::make_shared<nn::ModuleList>());
  // get_clones deep-copies one initialized layer, so every layer starts from the same parameters.
  for (int64_t i = 0; i < num_layers; ++i) {
    auto layer = layers->append(std::make_shared<MemoryAttentionLayer>(options.layer, generator));
    if (i > 0) layer->load_state_dict(layers->at<MemoryAttentionLayer>(0).state_dict());
  }
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{d_model}));
}

Tensor MemoryAttention::forward(const Tensor& curr, const Tensor& memory, const Tensor& curr_pos,
                                const Tensor& memory_pos, int64_t num_obj_ptr_tokens) {
  QATD_CHECK(curr.defined() && memory.defined(), "MemoryAttention: curr and memory must be defined");
  QATD_CHECK(curr.dim() == 3 && memory.dim() == 3 && curr.size(1) == memory.size(1),
             "MemoryAttention: curr {} and memory {} must be (L, B, C) and (S, B, C) with the same batch size",
             shape_str(curr.shape()), shape_str(memory.shape()));
  QATD_CHECK(!curr_pos.defined() || curr_pos.shape() == curr.shape(),
             "MemoryAttention: curr_pos {} must be shaped like curr {}", shape_str(curr_pos.shape()),
             shape_str(curr.shape()));
  QATD_CHECK(!memory_pos.defined() || memory_pos.shape() == memory.shape(),
             "MemoryAttention: memory_pos {} must be shaped like memory {}", shape_str(memory_pos.shape()),
             shape_str(memory.shape()));
  Tensor output = curr, query_pos = curr_pos, keys = memory, keys_pos = memory_pos;
  if (pos_enc_at_input && curr_pos.defined()) output = add(output, mul(curr_pos, 0.1));
  auto to_batch_first = [](const Tensor& x) { return x.defined() ? x.transpose(0, 1) : x; };
  if (batch_first) {
    output = to_batch_first(output);
    query_pos = to_batch_first(query_pos);
    keys = to_batch_first(keys);
    keys_pos = to_batch_first(keys_pos);
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    output = layers->at<MemoryAttentionLayer>(i).forward(output, keys, keys_pos, query_pos, num_obj_ptr_tokens);
  }
  Tensor normed = (*norm)(output);
  return batch_first ? normed.transpose(0, 1) : normed;
}

RoPEAttentionOptions rope_attention_options(const RoPEAttentionConfig& config) {
  return {.embedding_dim = config.embedding_dim,
          .num_heads = config.num_heads,
          .downsample_rate = config.downsample_rate,
          .dropout = config.dropout,
          .kv_in_dim = config.kv_in_dim,
          .rope_theta = config.rope_theta,
          .rope_k_repeat = config.rope_k_repeat,
          .feat_sizes = config.feat_sizes};
}

MemoryAttentionOptions memory_attention_options(const MemoryAttentionConfig& config) {
  const MemoryAttentionLayerConfig& layer = config.layer;
  return {.d_model = config.d_model,
          .pos_enc_at_input = config.pos_enc_at_input,
          .layer = {.activation = layer.activation,
                    .cross_attention = rope_attention_options(layer.cross_attention),
                    .d_model = layer.d_model,
                    .dim_feedforward = layer.dim_feedforward,
                    .dropout = layer.dropout,
                    .pos_enc_at_attn = layer.pos_enc_at_attn,
                    .pos_enc_at_cross_attn_keys = layer.pos_enc_at_cross_attn_keys,
                    .pos_enc_at_cross_attn_queries = layer.pos_enc_at_cross_attn_queries,
                    .self_attention = rope_attention_options(layer.self_attention)},
          .num_layers = config.num_layers,
          .batch_first = config.batch_first};
}

}  // namespace qatd::sam2
