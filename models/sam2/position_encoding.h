#pragma once
// sam2/modeling/position_encoding.py: the positional encodings of SAM 2.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "engine/nn/module.h"
#include "engine/random.h"

namespace qatd::sam2 {

struct PositionEmbeddingSineOptions {
  int64_t num_pos_feats = 0;  // channels of the encoding (even): half for y, half for x
  double temperature = 10000.0;
  bool normalize = true;
  std::optional<double> scale = std::nullopt;  // 2 pi when absent; only with normalize
};

// sam2.modeling.position_encoding.PositionEmbeddingSine
// The DETR-style sine encoding of every pixel of a feature map: channels [0, n) encode the row,
// [n, 2n) the column (n = num_pos_feats / 2), each as sin on even and cos on odd channels of
// p / temperature^(2 floor(i / 2) / n), with p the 1-based index, optionally divided by
// (size + 1e-6) and times scale. The official warmup_cache, image_size and strides arguments
// only pre-fill the cache for compilation and have no counterpart here.
class PositionEmbeddingSine : public nn::UnaryModule {
 public:
  explicit PositionEmbeddingSine(PositionEmbeddingSineOptions options);

  // x (B, C, H, W): the encoding (B, num_pos_feats, H, W) in x's dtype, a constant (no gradient). It is a
  // broadcast view of a cached float32 map (computed in float32 as the official code does): never write into it.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PositionEmbeddingSine"; }

  PositionEmbeddingSineOptions options;

 private:
  // (num_pos_feats, height, width), float32, computed once per size.
  const Tensor& encoding(int64_t height, int64_t width);

  std::map<std::pair<int64_t, int64_t>, Tensor> cache_;
};

// sam2.modeling.position_encoding.PositionEmbeddingRandom
// Random Fourier features of (x, y) in [0, 1]^2: with c' = 2c - 1 and p = 2 pi (c' @ G),
// the encoding is cat(sin p, cos p), 2 * num_pos_feats channels. G (2, num_pos_feats) is a
// persistent buffer, drawn N(0, scale^2) and loaded from checkpoints, never trained.
class PositionEmbeddingRandom : public nn::Module {
 public:
  // scale <= 0 or absent means 1, as in the official constructor.
  explicit PositionEmbeddingRandom(int64_t num_pos_feats = 64, std::optional<double> scale = std::nullopt,
                                   Generator* generator = nullptr);

  // The encoding of every pixel centre of a height x width grid: (C, height, width).
  Tensor forward(int64_t height, int64_t width);
  // coords (B, N, 2) in pixels (x, y) of an image of image_height x image_width: (B, N, C).
  // Coordinates are converted to the buffer's dtype (the official code converts to float32).
  Tensor forward_with_coords(const Tensor& coords, int64_t image_height, int64_t image_width);
  std::string type_name() const override { return "PositionEmbeddingRandom"; }

  int64_t num_pos_feats;
  Tensor positional_encoding_gaussian_matrix;

 private:
  // coords (..., 2) normalized to [0, 1]: (..., C).
  Tensor pe_encoding(const Tensor& coords) const;
};

// sam2.modeling.position_encoding.compute_axial_cis, with every complex factor e^{i angle} held as the real
// pair (cos angle, sin angle): the engine has no complex dtype. Token n of an end_x x end_y grid (row-major,
// column t_x = n mod end_x, row t_y = floor(n / end_x)) gets, for k < dim / 4, the angle t_x f_k on pair k
// and t_y f_k on pair dim / 4 + k, with f_k = 1 / theta^(4k / dim). Computed in float32 as the official
// code does; cos and sin are (end_x * end_y, dim / 2) float32. dim must be a positive multiple of 4.
struct AxialCis {
  Tensor cos;
  Tensor sin;
};
AxialCis compute_axial_cis(int64_t dim, int64_t end_x, int64_t end_y, double theta = 10000.0);

// sam2.modeling.position_encoding.apply_rotary_enc
// Rotates the adjacent channel pairs (2j, 2j + 1) of xq (..., Lq, D) by the angles of freqs_cis (Lq, D / 2):
// out_2j = a cos - b sin, out_2j+1 = a sin + b cos, the complex product (a + ib) e^{i angle}. xk (..., Lk, D)
// is rotated the same way; with repeat_freqs_k the table is tiled Lk / Lq times along the tokens (Lk must be a
// multiple of Lq), otherwise Lk must equal Lq. An undefined xk or one with no tokens is returned as is.
// Differentiable (the backward rotates by -angle). float32 inputs (and f16 / bf16, through float32) are
// rotated in float32 as the official code does; float64 inputs in float64 (the official code would round
// them to float32), so that gradients can be checked in float64.
std::pair<Tensor, Tensor> apply_rotary_enc(const Tensor& xq, const Tensor& xk, const AxialCis& freqs_cis,
                                           bool repeat_freqs_k = false);

}  // namespace qatd::sam2
