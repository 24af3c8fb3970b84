#pragma once
// sam2/modeling/backbones/utils.py: patch embedding and window (un)partitioning for Hiera, plus
// stochastic depth (sam2/modeling/sam2_utils.py DropPath), which Hiera's blocks use.
#include <array>
#include <cstdint>
#include <string>

#include "engine/nn/conv.h"
#include "engine/nn/module.h"
#include "engine/random.h"

namespace qatd::sam2 {

struct PatchEmbedOptions {
  std::array<int64_t, 2> kernel_size{7, 7};
  std::array<int64_t, 2> stride{4, 4};
  std::array<int64_t, 2> padding{3, 3};
  int64_t in_chans = 3;
  int64_t embed_dim = 768;
};

// sam2.modeling.backbones.utils.PatchEmbed
// A strided convolution from (B, in_chans, H, W) to channels-last patches (B, H', W', embed_dim); the
// result is a permuted view of the convolution's NCHW output.
class PatchEmbed : public nn::UnaryModule {
 public:
  explicit PatchEmbed(PatchEmbedOptions options = {}, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PatchEmbed"; }

  PatchEmbedOptions options;
  std::shared_ptr<nn::Conv2d> proj;
};

// window_partition's result: windows (B * num_windows, window_size, window_size, C), with the
// windows of one image row-major, and the padded size (Hp, Wp) they tile.
struct Windows {
  Tensor windows;
  std::array<int64_t, 2> padded_hw{};
};

// x (B, H, W, C) zero-padded at the bottom and right to multiples of window_size, then cut into
// non-overlapping windows.
Windows window_partition(const Tensor& x, int64_t window_size);
// The inverse: windows (B * num_windows, window_size, window_size, C) tiling padded_hw back to
// (B, Hp, Wp, C), cropped to hw (a view when that crops).
Tensor window_unpartition(const Tensor& windows, int64_t window_size, std::array<int64_t, 2> padded_hw,
                          std::array<int64_t, 2> hw);

// sam2.modeling.sam2_utils.DropPath
// Stochastic depth: in training, each sample of the batch (dim 0) is zeroed with probability
// drop_prob, and survivors are scaled by 1 / (1 - drop_prob) when scale_by_keep; the identity in eval
// mode or when drop_prob is 0 (where the official code uses nn.Identity instead).
class DropPath : public nn::UnaryModule {
 public:
  explicit DropPath(double drop_prob = 0.0, bool scale_by_keep = true, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return drop_prob > 0.0 ? "DropPath" : "Identity"; }

  double drop_prob;
  bool scale_by_keep;

 private:
  Generator* generator_;
};

}  // namespace qatd::sam2
