// Op cases: matrix products.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;

RegisterOpCases cases({
    {"matmul_2d", {S::normal({3, 4}), S::normal({4, 5})}, [](const Inputs& x) { return matmul(x[0], x[1]); }},
    {"matmul_transposed_operands", {S::normal({4, 3}), S::normal({5, 4})},
     [](const Inputs& x) { return matmul(x[0].t(), x[1].t()); }},
    {"matmul_batched_broadcast", {S::normal({2, 1, 3, 4}), S::normal({3, 4, 2})},
     [](const Inputs& x) { return matmul(x[0], x[1]); }},
    {"matmul_nd_by_2d", {S::normal({2, 3, 4}), S::normal({4, 2})}, [](const Inputs& x) { return matmul(x[0], x[1]); }},
    {"matmul_vector", {S::normal({3, 4}), S::normal({4})}, [](const Inputs& x) { return matmul(x[0], x[1]); }},
    {"matmul_dot", {S::normal({5}), S::normal({5})}, [](const Inputs& x) { return matmul(x[0], x[1]); }},
    {"bmm", {S::normal({2, 3, 4}), S::normal({2, 4, 3})}, [](const Inputs& x) { return bmm(x[0], x[1]); }},
    {"linear_bias", {S::normal({2, 3, 4}), S::normal({5, 4}), S::normal({5})},
     [](const Inputs& x) { return linear(x[0], x[1], x[2]); }},
    {"linear_no_bias", {S::normal({3, 4}), S::normal({2, 4})}, [](const Inputs& x) { return linear(x[0], x[1]); }},
});

}  // namespace
}  // namespace qatd::testing
