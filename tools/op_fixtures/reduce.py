"""Op cases: reductions; the C++ side is tests/ops/cases_reduce.cpp."""
import math  # noqa: F401

import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, mask, normal, uniform, weighted  # noqa: F401

case("sum_all", [normal(3, 4, 5)], lambda a: a.sum())
case("sum_dims_keepdim", [normal(3, 4, 5)], lambda a: a.sum((0, 2), keepdim=True))
case("sum_last_of_permuted", [normal(3, 4, 5)], lambda a: a.permute(2, 0, 1).sum(-1))
case("mean_dim", [normal(3, 4, 5)], lambda a: a.mean(1))
case("mean_all", [normal(3, 4)], lambda a: a.mean())
case("amax_dims", [normal(3, 4, 5)], lambda a: torch.amax(a, (1, 2)))
case("amin_dim_keepdim", [normal(3, 4, 5)], lambda a: torch.amin(a, (0,), keepdim=True))
case("max_dim_values", [normal(3, 4, 5)], lambda a: torch.max(a, 1).values)
case("min_dim_values_keepdim", [normal(3, 4, 5)], lambda a: torch.min(a, -1, keepdim=True).values)
case("argmax_dim", [normal(3, 4, 5)], lambda a: torch.argmax(a, 1), differentiable=False)
case("argmin_dim", [normal(3, 4, 5)], lambda a: torch.argmin(a, 2, keepdim=True), differentiable=False)
case("var_unbiased", [normal(3, 4, 5)], lambda a: torch.var(a, 2))
case("var_biased_all", [normal(3, 4)], lambda a: torch.var(a, correction=0))
case("norm_2", [normal(3, 4, 5)], lambda a: torch.linalg.vector_norm(a, 2, dim=1))
case("norm_1", [away((3, 4))], lambda a: torch.linalg.vector_norm(a, 1, dim=1))
case("norm_3_keepdim", [away((3, 4))], lambda a: torch.linalg.vector_norm(a, 3, dim=0, keepdim=True))
case("norm_inf", [normal(3, 4)], lambda a: torch.linalg.vector_norm(a, math.inf, dim=1))
case("cumsum", [normal(3, 4, 5)], lambda a: torch.cumsum(a, 1))
