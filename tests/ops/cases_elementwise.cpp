// Op cases: elementwise arithmetic, activations, comparisons and selection.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"add_broadcast", {S::normal({2, 3, 4}), S::normal({3, 1})}, [](const Inputs& x) { return add(x[0], x[1]); }},
    {"sub_broadcast", {S::normal({2, 1, 4}), S::normal({3, 4})}, [](const Inputs& x) { return sub(x[0], x[1]); }},
    {"mul_broadcast", {S::normal({2, 3, 4}), S::normal({4})}, [](const Inputs& x) { return mul(x[0], x[1]); }},
    {"div_broadcast", {S::normal({2, 3}), S::away({2, 1}, 0.5, 2.0)}, [](const Inputs& x) { return div(x[0], x[1]); }},
    {"pow_tensor", {S::uniform({3, 4}, 0.5, 2.0), S::normal({3, 4})}, [](const Inputs& x) { return pow(x[0], x[1]); }},
    {"pow_scalar", {S::uniform({3, 4}, 0.5, 2.0)}, [](const Inputs& x) { return pow(x[0], 2.5); }},
    {"rpow_scalar", {S::normal({3, 4})}, [](const Inputs& x) { return pow(2.0, x[0]); }},
    {"scalar_arithmetic", {S::normal({3, 4})}, [](const Inputs& x) { return (x[0] * 3.0 + 1.5) / 2.0 - 0.25; }},
    {"scalar_divided_by", {S::away({3, 4}, 0.5, 2.0)}, [](const Inputs& x) { return 1.5 / x[0]; }},
    {"neg", {S::normal({3, 4})}, [](const Inputs& x) { return neg(x[0]); }},
    {"abs", {S::away({3, 4})}, [](const Inputs& x) { return abs(x[0]); }},
    {"sign", {S::away({3, 4})}, [](const Inputs& x) { return mul(sign(x[0]), x[0]); }},
    {"exp", {S::normal({3, 4})}, [](const Inputs& x) { return exp(x[0]); }},
    {"log", {S::uniform({3, 4}, 0.2, 3.0)}, [](const Inputs& x) { return log(x[0]); }},
    {"log1p", {S::uniform({3, 4}, -0.5, 3.0)}, [](const Inputs& x) { return log1p(x[0]); }},
    {"sqrt", {S::uniform({3, 4}, 0.2, 3.0)}, [](const Inputs& x) { return sqrt(x[0]); }},
    {"rsqrt", {S::uniform({3, 4}, 0.2, 3.0)}, [](const Inputs& x) { return rsqrt(x[0]); }},
    {"sin", {S::normal({3, 4})}, [](const Inputs& x) { return sin(x[0]); }},
    {"cos", {S::normal({3, 4})}, [](const Inputs& x) { return cos(x[0]); }},
    {"tanh", {S::normal({3, 4})}, [](const Inputs& x) { return tanh(x[0]); }},
    {"sigmoid", {S::normal({3, 4})}, [](const Inputs& x) { return sigmoid(x[0]); }},
    {"relu", {S::away({3, 4})}, [](const Inputs& x) { return relu(x[0]); }},
    {"gelu", {S::normal({3, 4})}, [](const Inputs& x) { return gelu(x[0]); }},
    {"gelu_tanh", {S::normal({3, 4})}, [](const Inputs& x) { return gelu(x[0], "tanh"); }},
    {"erf", {S::normal({3, 4})}, [](const Inputs& x) { return erf(x[0]); }},
    {"reciprocal", {S::away({3, 4}, 0.5, 2.0)}, [](const Inputs& x) { return reciprocal(x[0]); }},
    {"square", {S::normal({3, 4})}, [](const Inputs& x) { return square(x[0]); }},
    {"floor_ceil_round_trunc", {S::uniform({4, 5}, -3.0, 3.0)},
     [](const Inputs& x) {
       Tensor y = mul(x[0], 2.0);
       return add(add(floor(y), mul(ceil(y), 10.0)), add(mul(round(y), 100.0), add(mul(trunc(y), 1000.0), y)));
     }},
    {.name = "round_half_to_even",
     .inputs = {S::index({7}, -3, 4)},
     .run = [](const Inputs& x) { return round(add(x[0].to(DType::f32), 0.5)); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {"softplus", {S::normal({3, 4})}, [](const Inputs& x) { return softplus(mul(x[0], 4.0)); }},
    {"clamp", {S::uniform({4, 5}, -2.0, 2.0)}, [](const Inputs& x) { return clamp(x[0], -0.7, 0.9); }},
    {"clamp_min_only", {S::uniform({4, 5}, -2.0, 2.0)}, [](const Inputs& x) { return clamp(x[0], 0.1, std::nullopt); }},
    {"maximum", {S::normal({3, 4}), S::normal({4})}, [](const Inputs& x) { return maximum(x[0], x[1]); }},
    {"minimum", {S::normal({3, 4}), S::normal({3, 1})}, [](const Inputs& x) { return minimum(x[0], x[1]); }},
    {"where", {S::mask({3, 4}), S::normal({3, 4}), S::normal({1, 4})},
     [](const Inputs& x) { return where(x[0], x[1], x[2]); }},
    {"masked_fill", {S::normal({2, 3, 4}), S::mask({3, 1})}, [](const Inputs& x) { return masked_fill(x[0], x[1], -2.5); }},
    {.name = "compare_gt",
     .inputs = {S::normal({3, 4}), S::normal({4})},
     .run = [](const Inputs& x) { return gt(x[0], x[1]); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {.name = "compare_le_scalar",
     .inputs = {S::normal({3, 4})},
     .run = [](const Inputs& x) { return le(x[0], 0.25); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {.name = "compare_eq_ne",
     .inputs = {S::index({3, 4}, 0, 3), S::index({4}, 0, 3)},
     .run = [](const Inputs& x) { return logical_and(ne(x[0], x[1]), logical_not(eq(x[0], x[1]))); },
     .differentiable = false,
     .forward_tolerance = 0.0},
    {"to_f64_and_back", {S::normal({3, 4})}, [](const Inputs& x) { return mul(x[0].to(DType::f64), 2.0).to(x[0].dtype()); }},
});

}  // namespace
}  // namespace qatd::testing
