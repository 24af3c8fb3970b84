"""Op cases: linear algebra; the C++ side is tests/ops/cases_linalg.cpp."""
import math  # noqa: F401

import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, mask, normal, uniform, weighted  # noqa: F401

case("matmul_2d", [normal(3, 4), normal(4, 5)], torch.matmul)
case("matmul_transposed_operands", [normal(4, 3), normal(5, 4)], lambda a, b: torch.matmul(a.t(), b.t()))
case("matmul_batched_broadcast", [normal(2, 1, 3, 4), normal(3, 4, 2)], torch.matmul)
case("matmul_nd_by_2d", [normal(2, 3, 4), normal(4, 2)], torch.matmul)
case("matmul_vector", [normal(3, 4), normal(4)], torch.matmul)
case("matmul_dot", [normal(5), normal(5)], torch.matmul)
case("bmm", [normal(2, 3, 4), normal(2, 4, 3)], torch.bmm)
case("linear_bias", [normal(2, 3, 4), normal(5, 4), normal(5)], F.linear)
case("linear_no_bias", [normal(3, 4), normal(2, 4)], F.linear)
