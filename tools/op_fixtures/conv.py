"""Op cases: convolutions; the C++ side is tests/ops/cases_conv.cpp."""
import torch.nn.functional as F

from op_fixtures import case, normal

case("conv2d_bias", [normal(2, 3, 5, 6), normal(4, 3, 3, 3), normal(4)], lambda x, w, b: F.conv2d(x, w, b))
case("conv2d_stride_padding", [normal(1, 2, 7, 6), normal(3, 2, 3, 2), normal(3)],
     lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2)))
case("conv2d_dilation_no_bias", [normal(1, 2, 7, 7), normal(2, 2, 3, 3)],
     lambda x, w: F.conv2d(x, w, None, stride=(1, 2), padding=(2, 1), dilation=(2, 1)))
case("conv2d_groups2", [normal(2, 4, 5, 5), normal(6, 2, 3, 3), normal(6)],
     lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2))
case("conv2d_depthwise", [normal(2, 3, 6, 6), normal(3, 1, 3, 3), normal(3)],
     lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=3))
case("conv2d_depthwise_multiplier_strided", [normal(1, 2, 7, 7), normal(4, 1, 3, 3)],
     lambda x, w: F.conv2d(x, w, None, stride=2, padding=(1, 2), dilation=(2, 1), groups=2))
case("conv2d_depthwise_7x7", [normal(1, 4, 8, 8), normal(4, 1, 7, 7), normal(4)],
     lambda x, w, b: F.conv2d(x, w, b, padding=3, groups=4))
case("conv2d_depthwise_wide_rows", [normal(1, 2, 4, 83), normal(4, 1, 3, 3), normal(4)],
     lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(1, 2), groups=2))
case("conv2d_1x1", [normal(2, 5, 3, 4), normal(3, 5, 1, 1), normal(3)], lambda x, w, b: F.conv2d(x, w, b))
case("conv2d_1x1_groups", [normal(1, 4, 3, 3), normal(6, 2, 1, 1)], lambda x, w: F.conv2d(x, w, None, groups=2))
case("conv2d_1x1_stride2", [normal(1, 3, 5, 5), normal(2, 3, 1, 1), normal(2)],
     lambda x, w, b: F.conv2d(x, w, b, stride=2))
case("conv2d_permuted_input", [normal(2, 5, 4, 3), normal(2, 3, 2, 2), normal(2)],
     lambda x, w, b: F.conv2d(x.permute(0, 3, 1, 2), w, b))
case("conv2d_unbatched", [normal(3, 5, 5), normal(2, 3, 3, 3), normal(2)],
     lambda x, w, b: F.conv2d(x, w, b, padding=1))
case("conv2d_column_blocks", [normal(1, 1, 22, 22), normal(1, 1, 25, 25)],
     lambda x, w: F.conv2d(x, w, None, padding=12))
case("conv_transpose2d_bias", [normal(2, 3, 4, 4), normal(3, 2, 3, 3), normal(2)],
     lambda x, w, b: F.conv_transpose2d(x, w, b))
case("conv_transpose2d_stride_output_padding", [normal(1, 2, 3, 4), normal(2, 3, 3, 2), normal(3)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2)))
case("conv_transpose2d_groups_dilation", [normal(1, 4, 3, 3), normal(4, 2, 2, 3)],
     lambda x, w: F.conv_transpose2d(x, w, None, stride=2, padding=1, output_padding=(1, 0), groups=2,
                                     dilation=(2, 1)))
case("conv_transpose2d_k2s2", [normal(1, 4, 3, 3), normal(4, 2, 2, 2), normal(2)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2))
case("conv_transpose2d_depthwise", [normal(1, 3, 4, 4), normal(3, 1, 3, 3), normal(3)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=3))
case("conv_transpose2d_output_padding_dilation", [normal(1, 2, 3, 3), normal(2, 2, 2, 2), normal(2)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, output_padding=1, dilation=2))
case("conv_transpose2d_depthwise_output_padding_dilation", [normal(1, 2, 3, 3), normal(2, 1, 2, 2)],
     lambda x, w: F.conv_transpose2d(x, w, None, output_padding=1, dilation=2, groups=2))
case("conv_transpose2d_1x1", [normal(1, 3, 3, 4), normal(3, 2, 1, 1), normal(2)],
     lambda x, w, b: F.conv_transpose2d(x, w, b))
case("conv_transpose2d_1x1_output_padding", [normal(1, 2, 3, 3), normal(2, 2, 1, 1)],
     lambda x, w: F.conv_transpose2d(x, w, None, output_padding=1, dilation=2))
case("conv_transpose2d_unbatched", [normal(2, 3, 3), normal(2, 3, 2, 2), normal(3)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2))
case("conv_transpose2d_permuted_input", [normal(1, 3, 4, 2), normal(2, 2, 3, 3)],
     lambda x, w: F.conv_transpose2d(x.permute(0, 3, 1, 2), w, None, stride=(2, 1), padding=1,
                                     output_padding=(1, 0)))
