"""Op cases: scaled dot-product attention; the C++ side is tests/ops/cases_attention.cpp."""
import torch
import torch.nn.functional as F

from op_fixtures import case, constant, mask, normal


def all_rows_but(rows, row):
    return (torch.arange(rows) != row).reshape(rows, 1)


def sdpa(q, k, v, m=None, scale=None):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=scale)


case("sdpa_2d", [normal(5, 4), normal(6, 4), normal(6, 3)], sdpa)
case("sdpa_4d_heads", [normal(2, 2, 5, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 3)], sdpa)
case("sdpa_bool_mask_broadcast", [normal(2, 2, 5, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 3), mask((5, 6), 0.7)], sdpa)
case("sdpa_key_padding_mask", [normal(2, 2, 5, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 3), mask((2, 1, 1, 6), 0.7)],
     sdpa)
case("sdpa_float_mask", [normal(2, 5, 4), normal(2, 6, 4), normal(2, 6, 3), constant(normal(2, 5, 6))], sdpa)
case("sdpa_float_mask_broadcast",
     [normal(2, 2, 5, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 3), constant(normal(2, 1, 5, 1))], sdpa)
case("sdpa_custom_scale", [normal(2, 5, 4), normal(2, 6, 4), normal(2, 6, 3)], lambda q, k, v: sdpa(q, k, v, None, 0.3))
case("sdpa_fully_masked_row", [normal(2, 5, 4), normal(2, 6, 4), normal(2, 6, 3), mask((2, 5, 6), 0.8)],
     lambda q, k, v, m: sdpa(q, k, v, m & all_rows_but(5, 1)))
case("sdpa_broadcast_batch", [normal(2, 3, 5, 4), normal(1, 3, 6, 4), normal(3, 6, 2)], sdpa)
case("sdpa_non_contiguous", [normal(5, 2, 4), normal(2, 4, 6), normal(2, 6, 3)],
     lambda q, k, v: sdpa(q.transpose(0, 1), k.transpose(1, 2), v))
case("sdpa_multiple_blocks", [normal(3, 40, 2), normal(3, 520, 2), normal(3, 520, 2), mask((40, 520), 0.9)], sdpa)
case("sdpa_masked_first_key_block", [normal(3, 4), normal(520, 4), normal(520, 2), mask((3, 520), 0.5)],
     lambda q, k, v, m: sdpa(q, k, v, m & (all_rows_but(3, 0) | (torch.arange(520) >= 512))))
