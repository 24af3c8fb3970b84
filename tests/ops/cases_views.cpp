// Op cases: views and layout changes.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

// Weights the result so that every output element has a distinct gradient.
Tensor weighted(const Tensor& x) { return mul(x, add(arange(0.0, double(x.numel()), 1.0, x.dtype()).reshape(x.shape()), 1.0)); }

RegisterOpCases cases({
    {"reshape_view", {S::normal({2, 3, 4})}, [](const Inputs& x) { return weighted(x[0].reshape({4, -1})); }},
    {"reshape_of_transposed", {S::normal({2, 3, 4})}, [](const Inputs& x) { return weighted(x[0].transpose(0, 2).reshape({-1})); }},
    {"permute", {S::normal({2, 3, 4})}, [](const Inputs& x) { return weighted(x[0].permute({1, 2, 0}).contiguous()); }},
    {"slice_step", {S::normal({5, 6})}, [](const Inputs& x) { return weighted(x[0].slice(1, 1, 6, 2)); }},
    {"narrow_select", {S::normal({4, 5, 3})}, [](const Inputs& x) { return weighted(x[0].narrow(1, 1, 3).select(2, -1)); }},
    {"expand", {S::normal({3, 1})}, [](const Inputs& x) { return weighted(x[0].expand({2, 3, 4})); }},
    {"squeeze_unsqueeze", {S::normal({3, 1, 4})}, [](const Inputs& x) { return weighted(x[0].squeeze(1).unsqueeze(0)); }},
    {"flatten_unflatten", {S::normal({2, 3, 4})}, [](const Inputs& x) { return weighted(x[0].flatten(1).unflatten(1, {4, 3})); }},
});

}  // namespace
}  // namespace qatd::testing
