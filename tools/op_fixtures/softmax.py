"""Op cases: softmax and log-softmax; the C++ side is tests/ops/cases_softmax.cpp."""
import torch

from op_fixtures import case, normal, uniform

case("softmax_last_dim", [normal(3, 4, 7)], lambda x: torch.softmax(x, -1))
case("softmax_first_dim", [normal(4, 3, 5)], lambda x: torch.softmax(x, 0))
case("softmax_middle_dim", [normal(3, 5, 4)], lambda x: torch.softmax(x, 1))
case("softmax_vector", [normal(6)], lambda x: torch.softmax(x, 0))
case("softmax_non_contiguous", [normal(4, 6)], lambda x: torch.softmax(x.t(), -1))
case("softmax_wide_inner", [normal(2, 3, 260)], lambda x: torch.softmax(x, 1))
case("softmax_large_logits", [uniform((3, 6), 60.0, 100.0)], lambda x: torch.softmax(x, 1))
case("log_softmax_last_dim", [normal(3, 7)], lambda x: torch.log_softmax(x, -1))
case("log_softmax_middle_dim", [normal(2, 5, 3)], lambda x: torch.log_softmax(x, 1))
case("log_softmax_first_dim_non_contiguous", [normal(3, 4, 5)], lambda x: torch.log_softmax(x.permute(2, 0, 1), 0))
case("log_softmax_large_logits", [uniform((2, 3, 5), -100.0, 100.0)], lambda x: torch.log_softmax(x, 2))
