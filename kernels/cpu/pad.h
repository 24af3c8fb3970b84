#pragma once
// Reflect and replicate padding of up to three trailing dims, expressed as one index map per
// padded dim: output index j along that dim reads input index source[j]. The same maps give
// the backward pass, which adds each output gradient into the input element it was read from.
#include <array>
#include <cstdint>
#include <vector>

namespace qatd::kernels::cpu {

struct PadIndexMap {
  int64_t planes = 1;                              // product of the unpadded leading dims
  std::array<int64_t, 3> input_sizes{1, 1, 1};     // the padded dims; leading ones are 1 when fewer than three
  std::array<std::vector<int64_t>, 3> source{std::vector<int64_t>{0}, std::vector<int64_t>{0},
                                             std::vector<int64_t>{0}};  // one entry per output index

  int64_t output_size(int d) const { return static_cast<int64_t>(source[d].size()); }
};

// out[p, i, j, k] = in[p, source0[i], source1[j], source2[k]]; both buffers contiguous.
template <typename T>
void pad_gather(const PadIndexMap& map, const T* in, T* out);

// grad_in[p, source0[i], source1[j], source2[k]] += grad_out[p, i, j, k]; grad_in must hold zeros
// (or what to add onto); both buffers contiguous.
template <typename T>
void pad_scatter_add(const PadIndexMap& map, const T* grad_out, T* grad_in);

}  // namespace qatd::kernels::cpu
