"""Op cases: elementwise; the C++ side is tests/ops/cases_elementwise.cpp."""
import math  # noqa: F401

import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, mask, normal, uniform, weighted  # noqa: F401

case("add_broadcast", [normal(2, 3, 4), normal(3, 1)], lambda a, b: a + b)
case("sub_broadcast", [normal(2, 1, 4), normal(3, 4)], lambda a, b: a - b)
case("mul_broadcast", [normal(2, 3, 4), normal(4)], lambda a, b: a * b)
case("div_broadcast", [normal(2, 3), away((2, 1), 0.5, 2.0)], lambda a, b: a / b)
case("pow_tensor", [uniform((3, 4), 0.5, 2.0), normal(3, 4)], lambda a, b: torch.pow(a, b))
case("pow_scalar", [uniform((3, 4), 0.5, 2.0)], lambda a: torch.pow(a, 2.5))
case("rpow_scalar", [normal(3, 4)], lambda a: torch.pow(2.0, a))
case("scalar_arithmetic", [normal(3, 4)], lambda a: (a * 3.0 + 1.5) / 2.0 - 0.25)
case("scalar_divided_by", [away((3, 4), 0.5, 2.0)], lambda a: 1.5 / a)
case("neg", [normal(3, 4)], lambda a: -a)
case("abs", [away((3, 4))], torch.abs)
case("sign", [away((3, 4))], lambda a: torch.sign(a) * a)
case("exp", [normal(3, 4)], torch.exp)
case("log", [uniform((3, 4), 0.2, 3.0)], torch.log)
case("log1p", [uniform((3, 4), -0.5, 3.0)], torch.log1p)
case("sqrt", [uniform((3, 4), 0.2, 3.0)], torch.sqrt)
case("rsqrt", [uniform((3, 4), 0.2, 3.0)], torch.rsqrt)
case("sin", [normal(3, 4)], torch.sin)
case("cos", [normal(3, 4)], torch.cos)
case("tanh", [normal(3, 4)], torch.tanh)
case("sigmoid", [normal(3, 4)], torch.sigmoid)
case("relu", [away((3, 4))], torch.relu)
case("gelu", [normal(3, 4)], F.gelu)
case("gelu_tanh", [normal(3, 4)], lambda a: F.gelu(a, approximate="tanh"))
case("erf", [normal(3, 4)], torch.erf)
case("reciprocal", [away((3, 4), 0.5, 2.0)], torch.reciprocal)
case("square", [normal(3, 4)], torch.square)
case("floor_ceil_round_trunc", [uniform((4, 5), -3.0, 3.0)],
     lambda a: torch.floor(a * 2) + torch.ceil(a * 2) * 10 + torch.round(a * 2) * 100 + torch.trunc(a * 2) * 1000 + a * 2)
case("round_half_to_even", [index((7,), -3, 4)], lambda a: torch.round(a.float() + 0.5), differentiable=False)
case("softplus", [normal(3, 4)], lambda a: F.softplus(a * 4.0))
case("clamp", [uniform((4, 5), -2.0, 2.0)], lambda a: torch.clamp(a, -0.7, 0.9))
case("clamp_min_only", [uniform((4, 5), -2.0, 2.0)], lambda a: torch.clamp(a, min=0.1))
case("maximum", [normal(3, 4), normal(4)], torch.maximum)
case("minimum", [normal(3, 4), normal(3, 1)], torch.minimum)
case("where", [mask((3, 4)), normal(3, 4), normal(1, 4)], torch.where)
case("masked_fill", [normal(2, 3, 4), mask((3, 1))], lambda a, m: a.masked_fill(m, -2.5))
case("compare_gt", [normal(3, 4), normal(4)], torch.gt, differentiable=False)
case("compare_le_scalar", [normal(3, 4)], lambda a: torch.le(a, 0.25), differentiable=False)
case("compare_eq_ne", [index((3, 4), 0, 3), index((4,), 0, 3)],
     lambda a, b: torch.logical_and(torch.ne(a, b), torch.logical_not(torch.eq(a, b))), differentiable=False)
case("to_f64_and_back", [normal(3, 4)], lambda a: (a.double() * 2.0).float())
