// Op cases: convolutions (im2col + GEMM, 1x1 without im2col, direct depthwise) and transposed convolutions.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

Conv2dOptions conv(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                   std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1) {
  return {stride, padding, dilation, groups};
}

ConvTranspose2dOptions transposed(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                  std::array<int64_t, 2> output_padding, std::array<int64_t, 2> dilation = {1, 1},
                                  int64_t groups = 1) {
  return {stride, padding, output_padding, dilation, groups};
}

RegisterOpCases cases({
    {"conv2d_bias", {S::normal({2, 3, 5, 6}), S::normal({4, 3, 3, 3}), S::normal({4})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2]); }},
    {"conv2d_stride_padding", {S::normal({1, 2, 7, 6}), S::normal({3, 2, 3, 2}), S::normal({3})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({2, 1}, {1, 2})); }},
    {"conv2d_dilation_no_bias", {S::normal({1, 2, 7, 7}), S::normal({2, 2, 3, 3})},
     [](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), conv({1, 2}, {2, 1}, {2, 1})); }},
    {"conv2d_groups2", {S::normal({2, 4, 5, 5}), S::normal({6, 2, 3, 3}), S::normal({6})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({1, 1}, {1, 1}, {1, 1}, 2)); }},
    {"conv2d_depthwise", {S::normal({2, 3, 6, 6}), S::normal({3, 1, 3, 3}), S::normal({3})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({1, 1}, {1, 1}, {1, 1}, 3)); }},
    {"conv2d_depthwise_multiplier_strided", {S::normal({1, 2, 7, 7}), S::normal({4, 1, 3, 3})},
     [](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), conv({2, 2}, {1, 2}, {2, 1}, 2)); }},
    {"conv2d_depthwise_7x7", {S::normal({1, 4, 8, 8}), S::normal({4, 1, 7, 7}), S::normal({4})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({1, 1}, {3, 3}, {1, 1}, 4)); }},
    // Rows of 83 outputs run through four-register, one-register and element-wise loops alike.
    {"conv2d_depthwise_wide_rows", {S::normal({1, 2, 4, 83}), S::normal({4, 1, 3, 3}), S::normal({4})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({1, 1}, {1, 2}, {1, 2}, 2)); }},
    {"conv2d_1x1", {S::normal({2, 5, 3, 4}), S::normal({3, 5, 1, 1}), S::normal({3})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2]); }},
    {"conv2d_1x1_groups", {S::normal({1, 4, 3, 3}), S::normal({6, 2, 1, 1})},
     [](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), conv({1, 1}, {0, 0}, {1, 1}, 2)); }},
    {"conv2d_1x1_stride2", {S::normal({1, 3, 5, 5}), S::normal({2, 3, 1, 1}), S::normal({2})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({2, 2}, {0, 0})); }},
    {"conv2d_permuted_input", {S::normal({2, 5, 4, 3}), S::normal({2, 3, 2, 2}), S::normal({2})},
     [](const Inputs& x) { return conv2d(x[0].permute({0, 3, 1, 2}), x[1], x[2]); }},
    {"conv2d_unbatched", {S::normal({3, 5, 5}), S::normal({2, 3, 3, 3}), S::normal({2})},
     [](const Inputs& x) { return conv2d(x[0], x[1], x[2], conv({1, 1}, {1, 1})); }},
    // The column matrix (625 rows x 484 positions) exceeds one block: im2col runs in blocks of output rows.
    {"conv2d_column_blocks", {S::normal({1, 1, 22, 22}), S::normal({1, 1, 25, 25})},
     [](const Inputs& x) { return conv2d(x[0], x[1], Tensor(), conv({1, 1}, {12, 12})); }},
    {"conv_transpose2d_bias", {S::normal({2, 3, 4, 4}), S::normal({3, 2, 3, 3}), S::normal({2})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2]); }},
    {"conv_transpose2d_stride_output_padding", {S::normal({1, 2, 3, 4}), S::normal({2, 3, 3, 2}), S::normal({3})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2], transposed({2, 3}, {1, 0}, {1, 2})); }},
    {"conv_transpose2d_groups_dilation", {S::normal({1, 4, 3, 3}), S::normal({4, 2, 2, 3})},
     [](const Inputs& x) {
       return conv_transpose2d(x[0], x[1], Tensor(), transposed({2, 2}, {1, 1}, {1, 0}, {2, 1}, 2));
     }},
    {"conv_transpose2d_k2s2", {S::normal({1, 4, 3, 3}), S::normal({4, 2, 2, 2}), S::normal({2})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2], transposed({2, 2}, {0, 0}, {0, 0})); }},
    {"conv_transpose2d_depthwise", {S::normal({1, 3, 4, 4}), S::normal({3, 1, 3, 3}), S::normal({3})},
     [](const Inputs& x) {
       return conv_transpose2d(x[0], x[1], x[2], transposed({2, 2}, {1, 1}, {1, 1}, {1, 1}, 3));
     }},
    // output_padding below dilation but not below stride: the last output row and column get only the bias.
    {"conv_transpose2d_output_padding_dilation", {S::normal({1, 2, 3, 3}), S::normal({2, 2, 2, 2}), S::normal({2})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2], transposed({1, 1}, {0, 0}, {1, 1}, {2, 2})); }},
    {"conv_transpose2d_depthwise_output_padding_dilation", {S::normal({1, 2, 3, 3}), S::normal({2, 1, 2, 2})},
     [](const Inputs& x) {
       return conv_transpose2d(x[0], x[1], Tensor(), transposed({1, 1}, {0, 0}, {1, 1}, {2, 2}, 2));
     }},
    {"conv_transpose2d_1x1", {S::normal({1, 3, 3, 4}), S::normal({3, 2, 1, 1}), S::normal({2})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2]); }},
    {"conv_transpose2d_1x1_output_padding", {S::normal({1, 2, 3, 3}), S::normal({2, 2, 1, 1})},
     [](const Inputs& x) {
       return conv_transpose2d(x[0], x[1], Tensor(), transposed({1, 1}, {0, 0}, {1, 1}, {2, 2}));
     }},
    {"conv_transpose2d_unbatched", {S::normal({2, 3, 3}), S::normal({2, 3, 2, 2}), S::normal({3})},
     [](const Inputs& x) { return conv_transpose2d(x[0], x[1], x[2], transposed({2, 2}, {0, 0}, {0, 0})); }},
    {"conv_transpose2d_permuted_input", {S::normal({1, 3, 4, 2}), S::normal({2, 2, 3, 3})},
     [](const Inputs& x) {
       return conv_transpose2d(x[0].permute({0, 3, 1, 2}), x[1], Tensor(), transposed({2, 1}, {1, 1}, {1, 0}));
     }},
});

}  // namespace
}  // namespace qatd::testing
