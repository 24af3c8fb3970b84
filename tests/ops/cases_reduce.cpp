// Op cases: reductions and scans.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"sum_all", {S::normal({3, 4, 5})}, [](const Inputs& x) { return sum(x[0]); }},
    {"sum_dims_keepdim", {S::normal({3, 4, 5})}, [](const Inputs& x) { return sum(x[0], {0, 2}, true); }},
    {"sum_last_of_permuted", {S::normal({3, 4, 5})}, [](const Inputs& x) { return sum(x[0].permute({2, 0, 1}), {-1}); }},
    {"mean_dim", {S::normal({3, 4, 5})}, [](const Inputs& x) { return mean(x[0], {1}); }},
    {"mean_all", {S::normal({3, 4})}, [](const Inputs& x) { return mean(x[0]); }},
    {"amax_dims", {S::normal({3, 4, 5})}, [](const Inputs& x) { return amax(x[0], {1, 2}); }},
    {"amin_dim_keepdim", {S::normal({3, 4, 5})}, [](const Inputs& x) { return amin(x[0], {0}, true); }},
    {"max_dim_values", {S::normal({3, 4, 5})}, [](const Inputs& x) { return max(x[0], 1).first; }},
    {"min_dim_values_keepdim", {S::normal({3, 4, 5})}, [](const Inputs& x) { return min(x[0], -1, true).first; }},
    {.name = "argmax_dim",
     .inputs = {S::normal({3, 4, 5})},
     .run = [](const Inputs& x) { return argmax(x[0], 1); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {.name = "argmin_dim",
     .inputs = {S::normal({3, 4, 5})},
     .run = [](const Inputs& x) { return argmin(x[0], 2, true); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {"var_unbiased", {S::normal({3, 4, 5})}, [](const Inputs& x) { return var(x[0], {2}); }},
    {"var_biased_all", {S::normal({3, 4})}, [](const Inputs& x) { return var(x[0], {}, 0.0); }},
    {"norm_2", {S::normal({3, 4, 5})}, [](const Inputs& x) { return norm(x[0], 2.0, {1}); }},
    {"norm_1", {S::away({3, 4})}, [](const Inputs& x) { return norm(x[0], 1.0, {1}); }},
    {"norm_3_keepdim", {S::away({3, 4})}, [](const Inputs& x) { return norm(x[0], 3.0, {0}, true); }},
    {"norm_inf", {S::normal({3, 4})}, [](const Inputs& x) { return norm(x[0], INFINITY, {1}); }},
    {"cumsum", {S::normal({3, 4, 5})}, [](const Inputs& x) { return cumsum(x[0], 1); }},
});

}  // namespace
}  // namespace qatd::testing
