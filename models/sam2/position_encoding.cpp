#include "models/sam2/position_encoding.h"

#include <algorithm>
#include <cmath>
#include <numbers>

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
  return finish_forward(x.dtype() == DType::f32 ? pe : pe.to(x.dtype()));
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

}  // namespace qatd::sam2
