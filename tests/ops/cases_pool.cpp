// Op cases: max and average pooling.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

Pool2dOptions pool(std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                   std::array<int64_t, 2> padding = {0, 0}, std::array<int64_t, 2> dilation = {1, 1},
                   bool ceil_mode = false, bool count_include_pad = true) {
  return {kernel, stride, padding, dilation, ceil_mode, count_include_pad};
}

RegisterOpCases cases({
    {"max_pool2d", {S::normal({2, 3, 6, 6})}, [](const Inputs& x) { return max_pool2d(x[0], pool({2, 2})); }},
    {"max_pool2d_stride_padding", {S::normal({1, 2, 7, 6})},
     [](const Inputs& x) { return max_pool2d(x[0], pool({3, 2}, {2, 1}, {1, 1})); }},
    {"max_pool2d_ceil_mode", {S::normal({1, 2, 8, 8})},
     [](const Inputs& x) { return max_pool2d(x[0], pool({3, 3}, {2, 2}, {0, 0}, {1, 1}, true)); }},
    // ceil mode would add a window starting at 6 >= 5 + 1 (past the input and its left padding): it is dropped.
    {"max_pool2d_ceil_mode_last_window", {S::normal({1, 1, 5, 5})},
     [](const Inputs& x) { return max_pool2d(x[0], pool({2, 2}, {2, 2}, {1, 1}, {1, 1}, true)); }},
    {"max_pool2d_dilation", {S::normal({1, 2, 8, 8})},
     [](const Inputs& x) { return max_pool2d(x[0], pool({3, 2}, {1, 2}, {1, 1}, {2, 3})); }},
    {"max_pool2d_unbatched", {S::normal({3, 5, 5})},
     [](const Inputs& x) { return max_pool2d(x[0], pool({2, 2}, {1, 1})); }},
    {"max_pool2d_permuted_input", {S::normal({2, 4, 4, 3})},
     [](const Inputs& x) { return max_pool2d(x[0].permute({0, 3, 1, 2}), pool({2, 2})); }},
    {"avg_pool2d", {S::normal({2, 3, 6, 6})}, [](const Inputs& x) { return avg_pool2d(x[0], pool({2, 2})); }},
    {"avg_pool2d_padding", {S::normal({1, 2, 5, 7})},
     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 3}, {2, 2}, {1, 1})); }},
    {"avg_pool2d_padding_exclude", {S::normal({1, 2, 5, 7})},
     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false)); }},
    {"avg_pool2d_ceil_mode", {S::normal({1, 2, 6, 6})},
     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true)); }},
    {"avg_pool2d_ceil_mode_exclude", {S::normal({1, 2, 6, 6})},
     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false)); }},
    {"avg_pool2d_rectangular", {S::normal({2, 2, 5, 6})},
     [](const Inputs& x) { return avg_pool2d(x[0], pool({2, 3}, {1, 2}, {1, 0})); }},
    {"avg_pool2d_unbatched_permuted", {S::normal({5, 4, 2})},
     [](const Inputs& x) {
       return avg_pool2d(x[0].permute({2, 0, 1}), pool({2, 2}, {1, 1}, {1, 1}, {1, 1}, true, false));
     }},
});

}  // namespace
}  // namespace qatd::testing
