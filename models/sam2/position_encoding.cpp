#include "models/sam2/position_encoding.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "engine/engine.h"

namespace qatd::sam2 {

PositionEmbeddingSine::PositionEmbeddingSine(PositionEmbeddingSineOptions options) : options(options) {
  QATD_CHECK(options.num_pos_feats > 0 && options.num_pos_feats % 2 == 0,
             "PositionEmbeddingSine: num_pos_feats must be positive and even, got {}", options.num_pos_feats);
  QATD_CHECK(!options.scale.has_value() || options.normalize,
             "PositionEmbeddingSine: scale ({}) is only used with normalize = true", options.scale.value_or(0.0));
}

const Tensor& PositionEmbeddingSine::encoding(int64_t height, int64_t width) {
  auto found = cache_.find({height, width});
  if (found != cache_.end()) return found->second;
  const int64_t half = options.num_pos_feats / 2;
  // Every step rounds to float32 where the official float32 tensor arithmetic does, so the angles
  // match it bit for bit; only sin, cos and the power may differ from PyTorch's in the last bit.
  const float scale = static_cast<float>(options.scale.value_or(2.0 * std::numbers::pi));
  std::vector<float> frequency(half);
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * (i / 2)) / static_cast<float>(half);
    frequency[i] = static_cast<float>(std::pow(options.temperature, static_cast<double>(exponent)));
  }
  auto positions = [&](int64_t size) {
    std::vector<float> embed(size);
    const float last = static_cast<float>(size) + 1e-6f;
    for (int64_t i = 0; i < size; ++i) {
      embed[i] = static_cast<float>(i + 1);
      if (options.normalize) embed[i] = embed[i] / last * scale;
    }
    return embed;
  };
  // Channel i of a half: sin on even i, cos on odd i, of position / frequency[i].
  auto channel_value = [&](float position, int64_t i) {
    double angle = static_cast<double>(position / frequency[i]);
    return static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
  };
  const std::vector<float> rows = positions(height), columns = positions(width);
  Tensor pe = empty({options.num_pos_feats, height, width});
  float* data = pe.data<float>();
  std::vector<float> x_row(width);
  for (int64_t i = 0; i < half; ++i) {
    float* y_plane = data + i * height * width;
    float* x_plane = data + (half + i) * height * width;
    for (int64_t c = 0; c < width; ++c) x_row[c] = channel_value(columns[c], i);
    for (int64_t r = 0; r < height; ++r) {
      std::fill_n(y_plane + r * width, width, channel_value(rows[r], i));
      std::copy(x_row.begin(), x_row.end(), x_plane + r * width);
    }
  }
  return cache_.emplace(std::make_pair(height, width), pe).first->second;
}

Tensor PositionEmbeddingSine::forward(const Tensor& x) {
  QATD_CHECK(x.defined(), "PositionEmbeddingSine: input is undefined");
  QATD_CHECK(x.dim() == 4 && x.size(2) > 0 && x.size(3) > 0,
             "PositionEmbeddingSine: input must be (B, C, H, W) with H, W > 0, got {}", shape_str(x.shape()));
  NoGradGuard no_grad;
  const int64_t height = x.size(2), width = x.size(3);
  Tensor pe = encoding(height, width).unsqueeze(0).expand({x.size(0), options.num_pos_feats, height, width});
  return x.dtype() == DType::f32 ? pe : pe.to(x.dtype());
}

PositionEmbeddingRandom::PositionEmbeddingRandom(int64_t num_pos_feats, std::optional<double> scale,
                                                 Generator* generator)
    : num_pos_feats(num_pos_feats) {
  QATD_CHECK(num_pos_feats > 0, "PositionEmbeddingRandom: num_pos_feats must be positive, got {}", num_pos_feats);
  double factor = scale.has_value() && *scale > 0.0 ? *scale : 1.0;
  positional_encoding_gaussian_matrix = randn({2, num_pos_feats}, DType::f32, generator);
  if (factor != 1.0) positional_encoding_gaussian_matrix.mul_(factor);
  register_buffer("positional_encoding_gaussian_matrix", positional_encoding_gaussian_matrix);
}

Tensor PositionEmbeddingRandom::pe_encoding(const Tensor& coords) const {
  Tensor centred = mul(coords, 2.0) - 1.0;
  Tensor projected = matmul(centred, positional_encoding_gaussian_matrix);
  // 2 pi as a double scalar takes the tensor's dtype, as torch's Python-scalar multiply does.
  Tensor phases = mul(projected, 2.0 * std::numbers::pi);
  return cat({sin(phases), cos(phases)}, -1);
}

Tensor PositionEmbeddingRandom::forward(int64_t height, int64_t width) {
  QATD_CHECK(height > 0 && width > 0, "PositionEmbeddingRandom: grid size must be positive, got {} x {}", height,
             width);
  DType dtype = positional_encoding_gaussian_matrix.dtype();
  // The official cumsum-of-ones minus 0.5 is exactly index + 0.5; the division matches it bit for bit.
  Tensor y = div(add(arange(0.0, static_cast<double>(height), 1.0, dtype), 0.5), static_cast<double>(height));
  Tensor x = div(add(arange(0.0, static_cast<double>(width), 1.0, dtype), 0.5), static_cast<double>(width));
  Tensor grid = stack({x.unsqueeze(0).expand({height, width}), y.unsqueeze(1).expand({height, width})}, -1);
  return finish_forward(pe_encoding(grid).permute({2, 0, 1}));
}

Tensor PositionEmbeddingRandom::forward_with_coords(const Tensor& coords, int64_t image_height, int64_t image_width) {
  QATD_CHECK(coords.defined(), "PositionEmbeddingRandom: coords are undefined");
  QATD_CHECK(coords.dim() == 3 && coords.size(2) == 2,
             "PositionEmbeddingRandom: coords must be (B, N, 2) pixel positions (x, y), got {}",
             shape_str(coords.shape()));
  QATD_CHECK(is_floating(coords.dtype()), "PositionEmbeddingRandom: coords must be floating point, got {}",
             coords.dtype());
  QATD_CHECK(image_height > 0 && image_width > 0, "PositionEmbeddingRandom: image size must be positive, got {} x {}",
             image_height, image_width);
  Tensor image_size =
      from_vector<double>({static_cast<double>(image_width), static_cast<double>(image_height)}).to(coords.dtype());
  Tensor normalized = div(coords, image_size).to(positional_encoding_gaussian_matrix.dtype());
  return pe_encoding(normalized);
}


namespace {

// torch's type_as after computing in float32 (or float64 for float64 inputs).
DType rotation_dtype(const Tensor& x) { return x.dtype() == DType::f64 ? DType::f64 : DType::f32; }

Tensor as_dtype(const Tensor& x, DType dtype) { return x.dtype() == dtype ? x : x.to(dtype); }

// x (..., L, D) times e^{i angle} on each channel pair, with cos and sin (L, D / 2) broadcast over the
// leading dims: the real and imaginary parts follow torch's complex product (a c - b d, a d + b c).
Tensor rotate_pairs(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  Shape pairs = x.shape();
  pairs.back() /= 2;
  pairs.push_back(2);
  Tensor complex = x.reshape(pairs);
  const int64_t last = static_cast<int64_t>(pairs.size()) - 1;
  Tensor a = complex.select(last, 0), b = complex.select(last, 1);
  Tensor real = sub(mul(a, cos), mul(b, sin));
  Tensor imaginary = add(mul(a, sin), mul(b, cos));
  return stack({real, imaginary}, last).reshape(x.shape());
}

}  // namespace

AxialCis compute_axial_cis(int64_t dim, int64_t end_x, int64_t end_y, double theta) {
  QATD_CHECK(dim > 0 && dim % 4 == 0, "compute_axial_cis: dim must be a positive multiple of 4, got {}", dim);
  QATD_CHECK(end_x > 0 && end_y > 0, "compute_axial_cis: the grid must be non-empty, got end_x {} and end_y {}", end_x,
             end_y);
  QATD_CHECK(std::isfinite(theta) && theta > 0.0, "compute_axial_cis: theta must be positive and finite, got {}",
             theta);
  const int64_t quarter = dim / 4, half = dim / 2, tokens = end_x * end_y;
  // float32 at every step, as the official tensor arithmetic: theta^(4k / dim), its reciprocal, the angle
  // t * f_k and then cos and sin of that float32 angle.
  const float base = static_cast<float>(theta);
  std::vector<float> frequency(quarter);
  for (int64_t k = 0; k < quarter; ++k) {
    float exponent = static_cast<float>(4 * k) / static_cast<float>(dim);
    frequency[k] = 1.0f / std::pow(base, exponent);
  }
  AxialCis cis{empty({tokens, half}), empty({tokens, half})};
  float* cos_data = cis.cos.data<float>();
  float* sin_data = cis.sin.data<float>();
  for (int64_t n = 0; n < tokens; ++n) {
    const float column = static_cast<float>(n % end_x), row = static_cast<float>(n / end_x);
    for (int64_t k = 0; k < quarter; ++k) {
      const float angle_x = column * frequency[k], angle_y = row * frequency[k];
      cos_data[n * half + k] = std::cos(angle_x);
      sin_data[n * half + k] = std::sin(angle_x);
      cos_data[n * half + quarter + k] = std::cos(angle_y);
      sin_data[n * half + quarter + k] = std::sin(angle_y);
    }
  }
  return cis;
}

std::pair<Tensor, Tensor> apply_rotary_enc(const Tensor& xq, const Tensor& xk, const AxialCis& freqs_cis,
                                           bool repeat_freqs_k) {
  QATD_CHECK(xq.defined() && freqs_cis.cos.defined() && freqs_cis.sin.defined(),
             "apply_rotary_enc: xq and both tables of freqs_cis must be defined");
  QATD_CHECK(xq.dim() >= 2 && xq.size(-1) > 0 && xq.size(-1) % 2 == 0,
             "apply_rotary_enc: xq must be (..., L, D) with D positive and even, got {}", shape_str(xq.shape()));
  const int64_t tokens = xq.size(-2), pairs = xq.size(-1) / 2;
  QATD_CHECK(freqs_cis.cos.shape() == (Shape{tokens, pairs}) && freqs_cis.sin.shape() == freqs_cis.cos.shape(),
             "apply_rotary_enc: freqs_cis must be ({}, {}) (xq's tokens, channel pairs) for xq {}, got cos {} and "
             "sin {}",
             tokens, pairs, shape_str(xq.shape()), shape_str(freqs_cis.cos.shape()),
             shape_str(freqs_cis.sin.shape()));
  const DType q_dtype = rotation_dtype(xq);
  Tensor q_out = as_dtype(rotate_pairs(as_dtype(xq, q_dtype), as_dtype(freqs_cis.cos, q_dtype),
                                       as_dtype(freqs_cis.sin, q_dtype)),
                          xq.dtype());
  if (!xk.defined() || (xk.dim() >= 2 && xk.size(-2) == 0)) return {q_out, xk};

  QATD_CHECK(xk.dim() >= 2 && xk.size(-1) == xq.size(-1),
             "apply_rotary_enc: xk must be (..., Lk, {}) like xq {}, got {}", xq.size(-1), shape_str(xq.shape()),
             shape_str(xk.shape()));
  const int64_t key_tokens = xk.size(-2);
  if (repeat_freqs_k) {
    QATD_CHECK(key_tokens % tokens == 0,
               "apply_rotary_enc: with repeat_freqs_k, xk's {} tokens must be a multiple of xq's {} (xk {}, xq {})",
               key_tokens, tokens, shape_str(xk.shape()), shape_str(xq.shape()));
  } else {
    QATD_CHECK(key_tokens == tokens,
               "apply_rotary_enc: xk {} and xq {} have different token counts (tiling needs repeat_freqs_k)",
               shape_str(xk.shape()), shape_str(xq.shape()));
  }
  // Tiling the table r times equals rotating the r blocks of Lq keys with the same table.
  Shape blocks(xk.shape().begin(), xk.shape().end() - 2);
  blocks.insert(blocks.end(), {key_tokens / tokens, tokens, xk.size(-1)});
  const DType k_dtype = rotation_dtype(xk);
  Tensor k_out = rotate_pairs(as_dtype(xk, k_dtype).reshape(blocks), as_dtype(freqs_cis.cos, k_dtype),
                              as_dtype(freqs_cis.sin, k_dtype));
  return {q_out, as_dtype(k_out.reshape(xk.shape()), xk.dtype())};
}

}  // namespace qatd::sam2
