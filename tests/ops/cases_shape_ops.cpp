// Op cases: padding, concatenation, splitting, repetition, rolling, flipping; dropout where it is
// deterministic (evaluation, p = 0).
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

// Pieces scaled by 1, 2, ... and joined in reverse order along `dim`: checks how many pieces there
// are, their sizes and what each holds with one output.
Tensor join_pieces(const std::vector<Tensor>& pieces, int64_t dim) {
  std::vector<Tensor> scaled;
  for (size_t i = pieces.size(); i-- > 0;) scaled.push_back(mul(pieces[i], double(i + 1)));
  return cat(scaled, dim);
}

RegisterOpCases cases({
    // pad, constant mode: any rank, negative pads crop.
    {"pad_constant_last_dim", {S::normal({2, 5})},
     [](const Inputs& x) { return pad(x[0], {1, 2}, PadMode::constant, 0.5); }},
    {"pad_constant_crop", {S::normal({2, 3, 5, 6})},
     [](const Inputs& x) { return pad(x[0], {1, -1, -2, 2}, PadMode::constant, -1.0); }},
    {"pad_constant_three_dims", {S::normal({2, 3, 4, 3})},
     [](const Inputs& x) { return pad(x[0], {0, 1, 2, 0, 1, 1}); }},
    {"pad_constant_every_dim", {S::normal({3, 4})}, [](const Inputs& x) { return pad(x[0], {-1, 2, 2, -1}); }},
    {"pad_constant_transposed", {S::normal({4, 3})},
     [](const Inputs& x) { return pad(x[0].t(), {2, 1, 0, 1}, PadMode::constant, 2.0); }},
    // pad, reflect and replicate: the last 1, 2 or 3 dims of batched and unbatched inputs.
    {"pad_reflect_1d", {S::normal({2, 3, 6})}, [](const Inputs& x) { return pad(x[0], {2, 5}, PadMode::reflect); }},
    {"pad_reflect_1d_crop", {S::normal({3, 6})},
     [](const Inputs& x) { return pad(x[0], {-1, 4}, PadMode::reflect); }},
    {"pad_reflect_2d", {S::normal({2, 2, 4, 5})},
     [](const Inputs& x) { return pad(x[0], {3, 1, 2, 3}, PadMode::reflect); }},
    {"pad_reflect_3d", {S::normal({1, 2, 3, 4, 3})},
     [](const Inputs& x) { return pad(x[0], {1, 2, 2, 1, 1, 2}, PadMode::reflect); }},
    {"pad_reflect_permuted", {S::normal({5, 2, 3})},
     [](const Inputs& x) { return pad(x[0].permute({1, 2, 0}), {2, 2}, PadMode::reflect); }},
    {"pad_replicate_1d", {S::normal({2, 4})}, [](const Inputs& x) { return pad(x[0], {3, 2}, PadMode::replicate); }},
    {"pad_replicate_2d_unbatched", {S::normal({2, 3, 4})},
     [](const Inputs& x) { return pad(x[0], {2, 1, 0, 3}, PadMode::replicate); }},
    {"pad_replicate_3d", {S::normal({2, 3, 2, 4})},
     [](const Inputs& x) { return pad(x[0], {1, -1, 2, 0, 1, 3}, PadMode::replicate); }},
    // cat and stack.
    {"cat_dim0", {S::normal({2, 3}), S::normal({4, 3}), S::normal({1, 3})},
     [](const Inputs& x) { return cat({x[0], x[1], x[2]}, 0); }},
    {"cat_negative_dim_transposed", {S::normal({2, 3, 2}), S::normal({2, 2, 4})},
     [](const Inputs& x) { return cat({x[0], x[1].transpose(1, 2)}, -2); }},
    {"cat_skips_empty_1d", {S::normal({2, 3}), S::normal({2, 2})},
     [](const Inputs& x) { return cat({x[0], empty({0}, x[0].dtype()), x[1]}, 1); }},
    {"cat_constant_input", {S::normal({3, 2}), S::normal({3, 1}).constant()},
     [](const Inputs& x) { return cat({x[1], x[0]}, 1); }},
    {"stack_dim1", {S::normal({2, 3}), S::normal({2, 3}), S::normal({2, 3})},
     [](const Inputs& x) { return stack({x[0], x[1], x[2]}, 1); }},
    {"stack_last_dim", {S::normal({3, 2}), S::normal({3, 2})}, [](const Inputs& x) { return stack({x[0], x[1]}, -1); }},
    // split, split_with_sizes, chunk.
    {"split_int", {S::normal({7, 3})}, [](const Inputs& x) { return join_pieces(split(x[0], 3, 0), 0); }},
    {"split_with_sizes", {S::normal({3, 8})},
     [](const Inputs& x) { return join_pieces(split_with_sizes(x[0], {2, 0, 5, 1}, 1), 1); }},
    {"chunk_uneven", {S::normal({2, 7})}, [](const Inputs& x) { return join_pieces(chunk(x[0], 3, -1), -1); }},
    {"chunk_fewer_pieces", {S::normal({5, 2})}, [](const Inputs& x) { return join_pieces(chunk(x[0], 4, 0), 0); }},
    // repeat, repeat_interleave.
    {"repeat_more_than_dims", {S::normal({2, 3})}, [](const Inputs& x) { return repeat(x[0], {2, 1, 3}); }},
    {"repeat_transposed", {S::normal({3, 2})}, [](const Inputs& x) { return repeat(x[0].t(), {3, 2}); }},
    {"repeat_interleave_middle", {S::normal({2, 3, 2})},
     [](const Inputs& x) { return repeat_interleave(x[0], 2, 1); }},
    {"repeat_interleave_last", {S::normal({2, 3})}, [](const Inputs& x) { return repeat_interleave(x[0], 3, -1); }},
    // roll, flip.
    {"roll_two_dims", {S::normal({3, 4, 5})}, [](const Inputs& x) { return roll(x[0], {1, -7}, {0, 2}); }},
    {"roll_flattened", {S::normal({3, 4})}, [](const Inputs& x) { return roll(x[0], {5}, {}); }},
    {"roll_repeated_dim", {S::normal({2, 5})}, [](const Inputs& x) { return roll(x[0], {2, 4}, {1, -1}); }},
    {"flip_two_dims", {S::normal({2, 3, 4})}, [](const Inputs& x) { return flip(x[0], {0, 2}); }},
    {"flip_transposed", {S::normal({3, 4})}, [](const Inputs& x) { return flip(x[0].t(), {-1}); }},
    // dropout where PyTorch's result is deterministic.
    {"dropout_eval", {S::normal({3, 4})}, [](const Inputs& x) { return dropout(x[0], 0.5, false); }},
    {"dropout_p0", {S::normal({3, 4})}, [](const Inputs& x) { return dropout(x[0], 0.0, true); }},
});

}  // namespace
}  // namespace qatd::testing
