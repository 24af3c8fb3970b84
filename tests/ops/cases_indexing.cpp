// Op cases: indexing with integer tensors.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"index_select", {S::normal({4, 5}), S::index({6}, 0, 5)}, [](const Inputs& x) { return index_select(x[0], 1, x[1]); }},
    {"index_add", {S::normal({5, 3}), S::index({4}, 0, 5), S::normal({4, 3})},
     [](const Inputs& x) { return index_add(x[0], 0, x[1], x[2]); }},
    {"gather", {S::normal({3, 5}), S::index({3, 4}, 0, 5)}, [](const Inputs& x) { return gather(x[0], 1, x[1]); }},
    {"scatter_add", {S::normal({3, 5}), S::index({3, 4}, 0, 5), S::normal({3, 4})},
     [](const Inputs& x) { return scatter_add(x[0], 1, x[1], x[2]); }},
    {"embedding", {S::normal({6, 4}), S::index({2, 3}, 0, 6)}, [](const Inputs& x) { return embedding(x[0], x[1]); }},
    {.name = "embedding_padding_idx", .inputs = {S::normal({6, 4}), S::index({2, 5}, 0, 6)},
     .run = [](const Inputs& x) { return embedding(x[0], x[1], 2); },
     .finite_difference = false},
});

}  // namespace
}  // namespace qatd::testing
