"""Op cases: pooling; the C++ side is tests/ops/cases_pool.cpp."""
import torch.nn.functional as F

from op_fixtures import case, normal

case("max_pool2d", [normal(2, 3, 6, 6)], lambda x: F.max_pool2d(x, 2))
case("max_pool2d_stride_padding", [normal(1, 2, 7, 6)], lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 1)))
case("max_pool2d_ceil_mode", [normal(1, 2, 8, 8)], lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True))
case("max_pool2d_ceil_mode_last_window", [normal(1, 1, 5, 5)], lambda x: F.max_pool2d(x, 2, 2, 1, ceil_mode=True))
case("max_pool2d_dilation", [normal(1, 2, 8, 8)], lambda x: F.max_pool2d(x, (3, 2), (1, 2), 1, dilation=(2, 3)))
case("max_pool2d_unbatched", [normal(3, 5, 5)], lambda x: F.max_pool2d(x, 2, 1))
case("max_pool2d_permuted_input", [normal(2, 4, 4, 3)], lambda x: F.max_pool2d(x.permute(0, 3, 1, 2), 2))
case("avg_pool2d", [normal(2, 3, 6, 6)], lambda x: F.avg_pool2d(x, 2))
case("avg_pool2d_padding", [normal(1, 2, 5, 7)], lambda x: F.avg_pool2d(x, 3, 2, 1))
case("avg_pool2d_padding_exclude", [normal(1, 2, 5, 7)],
     lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
case("avg_pool2d_ceil_mode", [normal(1, 2, 6, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True))
case("avg_pool2d_ceil_mode_exclude", [normal(1, 2, 6, 6)],
     lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))
case("avg_pool2d_rectangular", [normal(2, 2, 5, 6)], lambda x: F.avg_pool2d(x, (2, 3), (1, 2), (1, 0)))
case("avg_pool2d_unbatched_permuted", [normal(5, 4, 2)],
     lambda x: F.avg_pool2d(x.permute(2, 0, 1), 2, 1, 1, ceil_mode=True, count_include_pad=False))
