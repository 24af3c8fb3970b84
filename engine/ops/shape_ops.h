#pragma once
// Ops that rearrange or combine tensors: padding, concatenation, splitting, repetition, rolling.
#include <string_view>
#include <vector>

#include "engine/tensor.h"

namespace qatd {

enum class PadMode { constant, reflect, replicate };

// torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the last dim;
// negative pads crop (constant mode).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0.0);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Pieces of `split_size` along dim (the last may be smaller), as torch.split with an int.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// Pieces of the given sizes along dim, as torch.split with a list.
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// torch.Tensor.repeat: tiles the tensor `repeats[i]` times along dim i.
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);
// torch.repeat_interleave with an int: each element repeated `repeats` times along dim.
Tensor repeat_interleave(const Tensor& x, int64_t repeats, int64_t dim);
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims);
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);

}  // namespace qatd
