#include "models/sam2/backbones/utils.h"

#include "engine/engine.h"

namespace qatd::sam2 {

PatchEmbed::PatchEmbed(PatchEmbedOptions options, Generator* generator) : options(options) {
  Conv2dOptions conv;
  conv.stride = options.stride;
  conv.padding = options.padding;
  proj = register_module("proj", std::make_shared<nn::Conv2d>(options.in_chans, options.embed_dim, options.kernel_size,
                                                              conv, true, generator));
}

Tensor PatchEmbed::forward(const Tensor& x) {
  QATD_CHECK(x.defined(), "PatchEmbed: input is undefined");
  QATD_CHECK(x.dim() == 4 && x.size(1) == options.in_chans, "PatchEmbed: input must be (B, {}, H, W), got {}",
             options.in_chans, shape_str(x.shape()));
  return (*proj)(x).permute({0, 2, 3, 1});
}

Windows window_partition(const Tensor& x, int64_t window_size) {
  QATD_CHECK(x.defined(), "window_partition: input is undefined");
  QATD_CHECK(x.dim() == 4, "window_partition: input must be (B, H, W, C), got {}", shape_str(x.shape()));
  QATD_CHECK(window_size > 0, "window_partition: window_size must be positive, got {}", window_size);
  const int64_t batch = x.size(0), height = x.size(1), width = x.size(2), channels = x.size(3);
  const int64_t pad_h = (window_size - height % window_size) % window_size;
  const int64_t pad_w = (window_size - width % window_size) % window_size;
  Tensor padded = pad_h > 0 || pad_w > 0 ? pad(x, {0, 0, 0, pad_w, 0, pad_h}) : x;
  const int64_t rows = (height + pad_h) / window_size, columns = (width + pad_w) / window_size;
  Tensor windows = padded.reshape({batch, rows, window_size, columns, window_size, channels})
                       .permute({0, 1, 3, 2, 4, 5})
                       .reshape({batch * rows * columns, window_size, window_size, channels});
  return {windows, {height + pad_h, width + pad_w}};
}

Tensor window_unpartition(const Tensor& windows, int64_t window_size, std::array<int64_t, 2> padded_hw,
                          std::array<int64_t, 2> hw) {
  QATD_CHECK(windows.defined(), "window_unpartition: windows are undefined");
  QATD_CHECK(window_size > 0, "window_unpartition: window_size must be positive, got {}", window_size);
  QATD_CHECK(windows.dim() == 4 && windows.size(1) == window_size && windows.size(2) == window_size,
             "window_unpartition: windows must be (B * num_windows, {}, {}, C), got {}", window_size, window_size,
             shape_str(windows.shape()));
  const auto [padded_h, padded_w] = padded_hw;
  const auto [height, width] = hw;
  QATD_CHECK(padded_h > 0 && padded_w > 0 && padded_h % window_size == 0 && padded_w % window_size == 0,
             "window_unpartition: padded size ({}, {}) must be positive multiples of window_size {}", padded_h,
             padded_w, window_size);
  QATD_CHECK(height > 0 && width > 0 && height <= padded_h && width <= padded_w,
             "window_unpartition: size ({}, {}) must be positive and fit in the padded size ({}, {})", height, width,
             padded_h, padded_w);
  const int64_t rows = padded_h / window_size, columns = padded_w / window_size;
  QATD_CHECK(windows.size(0) % (rows * columns) == 0,
             "window_unpartition: {} windows are not a whole number of images of {} x {} windows (windows {}, "
             "padded size ({}, {}))",
             windows.size(0), rows, columns, shape_str(windows.shape()), padded_h, padded_w);
  const int64_t batch = windows.size(0) / (rows * columns), channels = windows.size(3);
  Tensor x = windows.reshape({batch, rows, columns, window_size, window_size, channels})
                 .permute({0, 1, 3, 2, 4, 5})
                 .reshape({batch, padded_h, padded_w, channels});
  if (padded_h > height || padded_w > width) x = x.slice(1, 0, height).slice(2, 0, width);
  return x;
}

DropPath::DropPath(double drop_prob, bool scale_by_keep, Generator* generator)
    : drop_prob(drop_prob), scale_by_keep(scale_by_keep), generator_(generator) {
  QATD_CHECK(drop_prob >= 0.0 && drop_prob <= 1.0, "DropPath: drop_prob must lie in [0, 1], got {}", drop_prob);
}

Tensor DropPath::forward(const Tensor& x) {
  if (drop_prob == 0.0 || !is_training()) return x;
  QATD_CHECK(x.defined() && x.dim() >= 1, "DropPath: input must have a batch dim, got {}",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const double keep_prob = 1.0 - drop_prob;
  Shape mask_shape(x.dim(), 1);
  mask_shape[0] = x.size(0);
  Tensor mask = bernoulli(mask_shape, keep_prob, generator_).to(x.dtype());
  if (keep_prob > 0.0 && scale_by_keep) mask = div(mask, keep_prob);
  return mul(x, mask);
}

}  // namespace qatd::sam2
