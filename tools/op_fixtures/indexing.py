"""Op cases: indexing; the C++ side is tests/ops/cases_indexing.cpp."""
import math  # noqa: F401

import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, mask, normal, uniform, weighted  # noqa: F401

case("index_select", [normal(4, 5), index((6,), 0, 5)], lambda a, i: torch.index_select(a, 1, i))
case("index_add", [normal(5, 3), index((4,), 0, 5), normal(4, 3)], lambda a, i, s: torch.index_add(a, 0, i, s))
case("gather", [normal(3, 5), index((3, 4), 0, 5)], lambda a, i: torch.gather(a, 1, i))
case("scatter_add", [normal(3, 5), index((3, 4), 0, 5), normal(3, 4)], lambda a, i, s: torch.scatter_add(a, 1, i, s))
case("embedding", [normal(6, 4), index((2, 3), 0, 6)], lambda w, i: F.embedding(i, w))
case("embedding_padding_idx", [normal(6, 4), index((2, 5), 0, 6)], lambda w, i: F.embedding(i, w, padding_idx=2))
