// Op cases: scaled dot-product attention (torch's F.scaled_dot_product_attention, no dropout).
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

// (rows, 1) bool, true everywhere but in row `row`: and-ed into a mask, it masks that whole row.
Tensor all_rows_but(int64_t rows, int64_t row) { return ne(arange(rows).reshape({rows, 1}), double(row)); }

RegisterOpCases cases({
    {"sdpa_2d",
     {S::normal({5, 4}), S::normal({6, 4}), S::normal({6, 3})},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
    {"sdpa_4d_heads",
     {S::normal({2, 2, 5, 4}), S::normal({2, 2, 6, 4}), S::normal({2, 2, 6, 3})},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
    {"sdpa_bool_mask_broadcast",
     {S::normal({2, 2, 5, 4}), S::normal({2, 2, 6, 4}), S::normal({2, 2, 6, 3}), S::mask({5, 6}, 0.7)},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
    {"sdpa_key_padding_mask",
     {S::normal({2, 2, 5, 4}), S::normal({2, 2, 6, 4}), S::normal({2, 2, 6, 3}), S::mask({2, 1, 1, 6}, 0.7)},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
    {"sdpa_float_mask",
     {S::normal({2, 5, 4}), S::normal({2, 6, 4}), S::normal({2, 6, 3}), S::normal({2, 5, 6}).constant()},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
    {"sdpa_float_mask_broadcast",
     {S::normal({2, 2, 5, 4}), S::normal({2, 2, 6, 4}), S::normal({2, 2, 6, 3}), S::normal({2, 1, 5, 1}).constant()},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
    {"sdpa_custom_scale",
     {S::normal({2, 5, 4}), S::normal({2, 6, 4}), S::normal({2, 6, 3})},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(), 0.3); }},
    // PyTorch's attention gives a zero output (and zero gradients) for a row with no key kept.
    {"sdpa_fully_masked_row",
     {S::normal({2, 5, 4}), S::normal({2, 6, 4}), S::normal({2, 6, 3}), S::mask({2, 5, 6}, 0.8)},
     [](const Inputs& x) {
       return scaled_dot_product_attention(x[0], x[1], x[2], logical_and(x[3], all_rows_but(5, 1)));
     }},
    {"sdpa_broadcast_batch",
     {S::normal({2, 3, 5, 4}), S::normal({1, 3, 6, 4}), S::normal({3, 6, 2})},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
    // Strided query rows are read in place; a key with strided elements is copied.
    {"sdpa_non_contiguous",
     {S::normal({5, 2, 4}), S::normal({2, 4, 6}), S::normal({2, 6, 3})},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0].transpose(0, 1), x[1].transpose(1, 2), x[2]); }},
    // 40 queries and 520 keys: two query blocks and two key blocks; with three batch entries the
    // threads split one entry between them (its dK and dV are summed from two partial buffers).
    {"sdpa_multiple_blocks",
     {S::normal({3, 40, 2}), S::normal({3, 520, 2}), S::normal({3, 520, 2}), S::mask({40, 520}, 0.9)},
     [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
    // Query 0 sees only keys 512..519, so its first key block is entirely masked.
    {"sdpa_masked_first_key_block",
     {S::normal({3, 4}), S::normal({520, 4}), S::normal({520, 2}), S::mask({3, 520}, 0.5)},
     [](const Inputs& x) {
       Tensor keep = logical_or(all_rows_but(3, 0), ge(arange(520), 512.0));
       return scaled_dot_product_attention(x[0], x[1], x[2], logical_and(x[3], keep));
     }},
});

}  // namespace
}  // namespace qatd::testing
