// Op cases: layer normalization (torch's F.layer_norm and SAM 2's LayerNorm2d).
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"layer_norm_last_dim",
     {S::normal({3, 4, 6}), S::normal({6}), S::normal({6})},
     [](const Inputs& x) { return layer_norm(x[0], {6}, x[1], x[2]); }},
    {"layer_norm_two_dims",
     {S::normal({2, 3, 4, 5}), S::normal({4, 5}), S::normal({4, 5})},
     [](const Inputs& x) {
       return layer_norm(x[0], {4, 5}, x[1], x[2]);
     }},
    {"layer_norm_no_affine", {S::normal({4, 7})}, [](const Inputs& x) { return layer_norm(x[0], {7}); }},
    {"layer_norm_weight_only",
     {S::normal({3, 5}), S::normal({5})},
     [](const Inputs& x) { return layer_norm(x[0], {5}, x[1]); }},
    {"layer_norm_bias_only",
     {S::normal({3, 5}), S::normal({5})},
     [](const Inputs& x) { return layer_norm(x[0], {5}, Tensor(), x[1]); }},
    {"layer_norm_eps_shifted_input",
     {S::uniform({3, 8}, 4.0, 6.0), S::normal({8}), S::normal({8})},
     [](const Inputs& x) { return layer_norm(x[0], {8}, x[1], x[2], 0.1); }},
    // 70 rows: the kernel sums grad_weight and grad_bias in blocks of 32 rows.
    {"layer_norm_many_rows",
     {S::normal({2, 35, 3}), S::normal({3}), S::normal({3})},
     [](const Inputs& x) { return layer_norm(x[0], {3}, x[1], x[2]); }},
    {"layer_norm_non_contiguous",
     {S::normal({5, 4}), S::normal({5}), S::normal({5})},
     [](const Inputs& x) { return layer_norm(x[0].t(), {5}, x[1], x[2]); }},
    {"layer_norm_constant_affine",
     {S::normal({3, 6}), S::normal({6}).constant(), S::normal({6}).constant()},
     [](const Inputs& x) { return layer_norm(x[0], {6}, x[1], x[2]); }},
    {"layer_norm2d",
     {S::normal({2, 3, 4, 5}), S::normal({3}), S::normal({3})},
     [](const Inputs& x) { return layer_norm2d(x[0], x[1], x[2]); }},
    // H * W = 272 spans two column tiles of the kernel.
    {"layer_norm2d_wide",
     {S::normal({1, 3, 17, 16}), S::normal({3}), S::normal({3})},
     [](const Inputs& x) { return layer_norm2d(x[0], x[1], x[2], 1e-5); }},
    {"layer_norm2d_channels_last",
     {S::normal({2, 4, 5, 3}), S::normal({3}), S::normal({3})},
     [](const Inputs& x) {
       return layer_norm2d(x[0].permute({0, 3, 1, 2}), x[1], x[2]);
     }},
});

}  // namespace
}  // namespace qatd::testing
