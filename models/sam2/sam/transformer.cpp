#include "models/sam2/sam/transformer.h"

#include <cmath>

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

// The attention layers of the two-way transformer: no dropout, keys and values of embedding_dim.
AttentionOptions attention_options(int64_t embedding_dim, int64_t num_heads, int64_t downsample_rate) {
  AttentionOptions options;
  options.embedding_dim = embedding_dim;
  options.num_heads = num_heads;
  options.downsample_rate = downsample_rate;
  return options;
}

}  // namespace

Attention::Attention(const AttentionOptions& options, Generator* generator)
    : embedding_dim(options.embedding_dim),
      kv_in_dim(options.kv_in_dim.value_or(options.embedding_dim)),
      num_heads(options.num_heads),
      dropout_p(options.dropout),
      generator_(generator) {
  QATD_CHECK(embedding_dim > 0 && kv_in_dim > 0 && num_heads > 0 && options.downsample_rate > 0,
             "Attention: embedding_dim {}, kv_in_dim {}, num_heads {} and downsample_rate {} must be positive",
             embedding_dim, kv_in_dim, num_heads, options.downsample_rate);
  internal_dim = embedding_dim / options.downsample_rate;
  QATD_CHECK(internal_dim > 0 && internal_dim % num_heads == 0,
             "Attention: num_heads {} must divide the internal dim {} (embedding_dim {} / downsample_rate {})",
             num_heads, internal_dim, embedding_dim, options.downsample_rate);
  QATD_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, "Attention: dropout must be in [0, 1), got {}", dropout_p);
  q_proj = register_module("q_proj", std::make_shared<nn::Linear>(embedding_dim, internal_dim, true, generator));
  k_proj = register_module("k_proj", std::make_shared<nn::Linear>(kv_in_dim, internal_dim, true, generator));
  v_proj = register_module("v_proj", std::make_shared<nn::Linear>(kv_in_dim, internal_dim, true, generator));
  out_proj = register_module("out_proj", std::make_shared<nn::Linear>(internal_dim, embedding_dim, true, generator));
}

void Attention::check_inputs(const Tensor& q, const Tensor& k, const Tensor& v) const {
  QATD_CHECK(q.defined() && k.defined() && v.defined(), "{}: q, k and v must all be defined", type_name());
  QATD_CHECK(q.dim() == 3 && q.size(2) == embedding_dim, "{}: q must be (B, Nq, {}) (embedding_dim), got {}",
             type_name(), embedding_dim, shape_str(q.shape()));
  QATD_CHECK(k.dim() == 3 && k.size(2) == kv_in_dim && v.dim() == 3 && v.size(2) == kv_in_dim,
             "{}: k and v must be (B, Nk, {}) (kv_in_dim), got k {} and v {}", type_name(), kv_in_dim,
             shape_str(k.shape()), shape_str(v.shape()));
  QATD_CHECK(k.size(1) == v.size(1), "{}: k {} and v {} have different token counts", type_name(), shape_str(k.shape()),
             shape_str(v.shape()));
  QATD_CHECK(q.size(0) == k.size(0) && k.size(0) == v.size(0), "{}: batch sizes differ: q {}, k {}, v {}", type_name(),
             shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
}

Tensor Attention::separate_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), num_heads, x.size(2) / num_heads}).transpose(1, 2);
}

Tensor Attention::recombine_heads(const Tensor& x) const {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

Tensor Attention::attend(const Tensor& q, const Tensor& k, const Tensor& v) const {
  double p = is_training() ? dropout_p : 0.0;
  if (p == 0.0) return scaled_dot_product_attention(q, k, v);
  // The fused kernel has no dropout; training with dropout composes the same math explicitly.
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor weights = softmax(mul(matmul(q, k.transpose(-2, -1)), scale), -1);
  return matmul(dropout(weights, p, true, generator_), v);
}

Tensor Attention::forward(const Tensor& q, const Tensor& k, const Tensor& v) {
  check_inputs(q, k, v);
  Tensor heads = attend(separate_heads((*q_proj)(q)), separate_heads((*k_proj)(k)), separate_heads((*v_proj)(v)));
  return (*out_proj)(recombine_heads(heads));
}

namespace {

AttentionOptions base_options(const RoPEAttentionOptions& options) {
  return {.embedding_dim = options.embedding_dim,
          .num_heads = options.num_heads,
          .downsample_rate = options.downsample_rate,
          .dropout = options.dropout,
          .kv_in_dim = options.kv_in_dim};
}

}  // namespace

RoPEAttention::RoPEAttention(const RoPEAttentionOptions& options, Generator* generator)
    : Attention(base_options(options), generator),
      rope_theta(options.rope_theta),
      rope_k_repeat(options.rope_k_repeat),
      feat_sizes(options.feat_sizes) {
  const int64_t head_dim = internal_dim / num_heads;
  QATD_CHECK(head_dim % 4 == 0,
             "RoPEAttention: the head dim {} (internal dim {} / num_heads {}) must be a multiple of 4 (x and y rotate "
             "half of the channel pairs each)",
             head_dim, internal_dim, num_heads);
  QATD_CHECK(feat_sizes[0] > 0 && feat_sizes[1] > 0, "RoPEAttention: feat_sizes must be positive, got [{}, {}]",
             feat_sizes[0], feat_sizes[1]);
  current_ = {feat_sizes[0], feat_sizes[1]};
  table(feat_sizes[0], feat_sizes[1]);
}

const AxialCis& RoPEAttention::table(int64_t end_x, int64_t end_y) {
  auto found = tables_.find({end_x, end_y});
  if (found != tables_.end()) return found->second;
  AxialCis cis = compute_axial_cis(internal_dim / num_heads, end_x, end_y, rope_theta);
  return tables_.emplace(std::make_pair(end_x, end_y), std::move(cis)).first->second;
}

const AxialCis& RoPEAttention::freqs_cis_for(int64_t tokens) {
  if (current_.first * current_.second != tokens) {
    auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
    QATD_CHECK(side * side == tokens,
               "RoPEAttention: {} query tokens match neither the current {}x{} grid nor a square grid", tokens,
               current_.first, current_.second);
    current_ = {side, side};
  }
  return table(current_.first, current_.second);
}

Tensor RoPEAttention::forward(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_k_exclude_rope) {
  check_inputs(q, k, v);
  QATD_CHECK(num_k_exclude_rope >= 0 && num_k_exclude_rope <= k.size(1),
             "RoPEAttention: num_k_exclude_rope {} must lie in [0, {}] (the key count of k {})", num_k_exclude_rope,
             k.size(1), shape_str(k.shape()));
  QATD_CHECK(q.size(1) == k.size(1) || rope_k_repeat,
             "RoPEAttention: q {} and k {} have different token counts, which needs rope_k_repeat",
             shape_str(q.shape()), shape_str(k.shape()));
  Tensor queries = separate_heads((*q_proj)(q));
  Tensor keys = separate_heads((*k_proj)(k));
  Tensor values = separate_heads((*v_proj)(v));

  const AxialCis& freqs_cis = freqs_cis_for(queries.size(2));
  const int64_t num_k_rope = keys.size(2) - num_k_exclude_rope;
  auto [rotated_queries, rotated_keys] =
      apply_rotary_enc(queries, keys.narrow(2, 0, num_k_rope), freqs_cis, rope_k_repeat);
  if (num_k_exclude_rope > 0) {
    keys = cat({rotated_keys, keys.narrow(2, num_k_rope, num_k_exclude_rope)}, 2);
  } else {
    keys = rotated_keys;
  }
  Tensor heads = attend(rotated_queries, keys, values);
  return (*out_proj)(recombine_heads(heads));
}

TwoWayAttentionBlock::TwoWayAttentionBlock(const TwoWayAttentionBlockOptions& options, Generator* generator)
    : skip_first_layer_pe(options.skip_first_layer_pe) {
  const int64_t dim = options.embedding_dim;
  QATD_CHECK(dim > 0 && options.mlp_dim > 0, "TwoWayAttentionBlock: embedding_dim {} and mlp_dim {} must be positive",
             dim, options.mlp_dim);
  const AttentionOptions cross = attention_options(dim, options.num_heads, options.attention_downsample_rate);
  self_attn = register_module("self_attn",
                              std::make_shared<Attention>(attention_options(dim, options.num_heads, 1), generator));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(Shape{dim}));
  cross_attn_token_to_image =
      register_module("cross_attn_token_to_image", std::make_shared<Attention>(cross, generator));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(Shape{dim}));
  mlp = register_module("mlp",
                        std::make_shared<nn::MLP>(dim, options.mlp_dim, dim, 2, options.activation, false, generator));
  norm3 = register_module("norm3", std::make_shared<nn::LayerNorm>(Shape{dim}));
  norm4 = register_module("norm4", std::make_shared<nn::LayerNorm>(Shape{dim}));
  cross_attn_image_to_token =
      register_module("cross_attn_image_to_token", std::make_shared<Attention>(cross, generator));
}

std::pair<Tensor, Tensor> TwoWayAttentionBlock::forward(const Tensor& queries_in, const Tensor& keys_in,
                                                        const Tensor& query_pe, const Tensor& key_pe) {
  Tensor queries = queries_in, keys = keys_in;
  if (skip_first_layer_pe) {
    queries = (*self_attn)(queries, queries, queries);
  } else {
    Tensor q = add(queries, query_pe);
    queries = add(queries, (*self_attn)(q, q, queries));
  }
  queries = (*norm1)(queries);

  Tensor q = add(queries, query_pe);
  Tensor k = add(keys, key_pe);
  queries = (*norm2)(add(queries, (*cross_attn_token_to_image)(q, k, keys)));

  queries = (*norm3)(add(queries, (*mlp)(queries)));

  q = add(queries, query_pe);
  k = add(keys, key_pe);
  keys = (*norm4)(add(keys, (*cross_attn_image_to_token)(k, q, queries)));
  return {queries, keys};
}

TwoWayTransformer::TwoWayTransformer(const TwoWayTransformerOptions& options, Generator* generator)
    : depth(options.depth),
      embedding_dim(options.embedding_dim),
      num_heads(options.num_heads),
      mlp_dim(options.mlp_dim) {
  QATD_CHECK(depth > 0 && embedding_dim > 0 && num_heads > 0 && mlp_dim > 0,
             "TwoWayTransformer: depth {}, embedding_dim {}, num_heads {} and mlp_dim {} must be positive", depth,
             embedding_dim, num_heads, mlp_dim);
  layers = register_module("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < depth; ++i) {
    layers->append(std::make_shared<TwoWayAttentionBlock>(
        TwoWayAttentionBlockOptions{.embedding_dim = embedding_dim,
                                    .num_heads = num_heads,
                                    .mlp_dim = mlp_dim,
                                    .activation = options.activation,
                                    .attention_downsample_rate = options.attention_downsample_rate,
                                    .skip_first_layer_pe = i == 0},
        generator));
  }
  final_attn_token_to_image =
      register_module("final_attn_token_to_image",
                      std::make_shared<Attention>(
                          attention_options(embedding_dim, num_heads, options.attention_downsample_rate), generator));
  norm_final_attn = register_module("norm_final_attn", std::make_shared<nn::LayerNorm>(Shape{embedding_dim}));
}

std::pair<Tensor, Tensor> TwoWayTransformer::forward(const Tensor& image_embedding, const Tensor& image_pe,
                                                     const Tensor& point_embedding) {
  QATD_CHECK(image_embedding.defined() && image_pe.defined() && point_embedding.defined(),
             "TwoWayTransformer: image_embedding, image_pe and point_embedding must all be defined");
  QATD_CHECK(image_embedding.dim() == 4 && image_embedding.size(1) == embedding_dim,
             "TwoWayTransformer: image_embedding must be (B, {}, H, W), got {}", embedding_dim,
             shape_str(image_embedding.shape()));
  const int64_t batch = image_embedding.size(0);
  QATD_CHECK(image_pe.dim() == 4 && (image_pe.size(0) == batch || image_pe.size(0) == 1) &&
                 image_pe.size(1) == embedding_dim && image_pe.size(2) == image_embedding.size(2) &&
                 image_pe.size(3) == image_embedding.size(3),
             "TwoWayTransformer: image_pe {} must match image_embedding {} (batch {} or 1)",
             shape_str(image_pe.shape()), shape_str(image_embedding.shape()), batch);
  QATD_CHECK(point_embedding.dim() == 3 && point_embedding.size(0) == batch && point_embedding.size(2) == embedding_dim,
             "TwoWayTransformer: point_embedding must be (B = {}, N, {}), got {}", batch, embedding_dim,
             shape_str(point_embedding.shape()));
  // (B, C, H, W) -> (B, H * W, C) as strided views; the first additions produce contiguous tensors.
  Tensor keys = image_embedding.flatten(2).permute({0, 2, 1});
  Tensor key_pe = image_pe.flatten(2).permute({0, 2, 1});
  Tensor queries = point_embedding;
  for (size_t i = 0; i < layers->size(); ++i) {
    std::tie(queries, keys) = layers->at<TwoWayAttentionBlock>(i).forward(queries, keys, point_embedding, key_pe);
  }
  Tensor q = add(queries, point_embedding);
  Tensor k = add(keys, key_pe);
  queries = (*norm_final_attn)(add(queries, (*final_attn_token_to_image)(q, k, keys)));
  return {queries, keys};
}

}  // namespace qatd::sam2
