"""Op cases: views; the C++ side is tests/ops/cases_views.cpp."""
import math  # noqa: F401

import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, mask, normal, uniform, weighted  # noqa: F401

case("reshape_view", [normal(2, 3, 4)], lambda a: weighted(a.reshape(4, -1)))
case("reshape_of_transposed", [normal(2, 3, 4)], lambda a: weighted(a.transpose(0, 2).reshape(-1)))
case("permute", [normal(2, 3, 4)], lambda a: weighted(a.permute(1, 2, 0).contiguous()))
case("slice_step", [normal(5, 6)], lambda a: weighted(a[:, 1:6:2]))
case("narrow_select", [normal(4, 5, 3)], lambda a: weighted(a.narrow(1, 1, 3)[:, :, -1]))
case("expand", [normal(3, 1)], lambda a: weighted(a.expand(2, 3, 4)))
case("squeeze_unsqueeze", [normal(3, 1, 4)], lambda a: weighted(a.squeeze(1).unsqueeze(0)))
case("flatten_unflatten", [normal(2, 3, 4)], lambda a: weighted(a.flatten(1).unflatten(1, (4, 3))))
