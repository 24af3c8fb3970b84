// Op cases: softmax and log-softmax along every kind of dim.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"softmax_last_dim", {S::normal({3, 4, 7})}, [](const Inputs& x) { return softmax(x[0], -1); }},
    {"softmax_first_dim", {S::normal({4, 3, 5})}, [](const Inputs& x) { return softmax(x[0], 0); }},
    {"softmax_middle_dim", {S::normal({3, 5, 4})}, [](const Inputs& x) { return softmax(x[0], 1); }},
    {"softmax_vector", {S::normal({6})}, [](const Inputs& x) { return softmax(x[0], 0); }},
    {"softmax_non_contiguous", {S::normal({4, 6})}, [](const Inputs& x) { return softmax(x[0].t(), -1); }},
    // 260 columns after the softmax dim span two column tiles of the kernel.
    {"softmax_wide_inner", {S::normal({2, 3, 260})}, [](const Inputs& x) { return softmax(x[0], 1); }},
    // exp of these logits overflows float32 unless the row maximum is subtracted first.
    {"softmax_large_logits", {S::uniform({3, 6}, 60.0, 100.0)}, [](const Inputs& x) { return softmax(x[0], 1); }},
    {"log_softmax_last_dim", {S::normal({3, 7})}, [](const Inputs& x) { return log_softmax(x[0], -1); }},
    {"log_softmax_middle_dim", {S::normal({2, 5, 3})}, [](const Inputs& x) { return log_softmax(x[0], 1); }},
    {"log_softmax_first_dim_non_contiguous",
     {S::normal({3, 4, 5})},
     [](const Inputs& x) {
       return log_softmax(x[0].permute({2, 0, 1}), 0);
     }},
    {"log_softmax_large_logits",
     {S::uniform({2, 3, 5}, -100.0, 100.0)},
     [](const Inputs& x) { return log_softmax(x[0], 2); }},
});

}  // namespace
}  // namespace qatd::testing
