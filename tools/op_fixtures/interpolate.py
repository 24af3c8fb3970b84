"""Op cases: interpolate; the C++ side is tests/ops/cases_interpolate.cpp."""
import torch.nn.functional as F

from op_fixtures import case, normal


def to_size(mode, height, width, align_corners=False, antialias=False):
    corners = None if mode == "nearest" else align_corners
    return lambda x: F.interpolate(x, size=(height, width), mode=mode, align_corners=corners, antialias=antialias)


def by_factor(mode, height, width, align_corners=False, antialias=False):
    corners = None if mode == "nearest" else align_corners
    return lambda x: F.interpolate(x, scale_factor=(height, width), mode=mode, align_corners=corners,
                                   antialias=antialias)


# nearest
case("interpolate_nearest_scale2", [normal(1, 2, 3, 4)], by_factor("nearest", 2.0, 2.0))
case("interpolate_nearest_up_odd", [normal(2, 1, 3, 5)], to_size("nearest", 7, 8))
case("interpolate_nearest_down", [normal(1, 2, 7, 9)], to_size("nearest", 3, 4))
case("interpolate_nearest_fractional_factor", [normal(1, 1, 5, 6)], by_factor("nearest", 1.7, 0.6))
case("interpolate_nearest_factor_shortcuts", [normal(1, 2, 5, 6)], by_factor("nearest", 2.05, 1.1))
# bilinear
case("interpolate_bilinear_up", [normal(1, 2, 4, 5)], to_size("bilinear", 7, 9))
case("interpolate_bilinear_down", [normal(1, 2, 9, 11)], to_size("bilinear", 4, 5))
case("interpolate_bilinear_align_corners_up", [normal(1, 2, 4, 5)], to_size("bilinear", 7, 8, True))
case("interpolate_bilinear_align_corners_down", [normal(1, 1, 9, 10)], to_size("bilinear", 4, 3, True))
case("interpolate_bilinear_factor", [normal(1, 2, 5, 4)], by_factor("bilinear", 1.5, 2.25))
case("interpolate_bilinear_factor_align_corners", [normal(1, 1, 5, 4)], by_factor("bilinear", 1.5, 0.6, True))
case("interpolate_bilinear_same_height", [normal(1, 1, 5, 6)], to_size("bilinear", 5, 9))
case("interpolate_bilinear_single_row", [normal(1, 2, 1, 4)], to_size("bilinear", 3, 7))
case("interpolate_bilinear_to_one_pixel", [normal(1, 2, 4, 5)], to_size("bilinear", 1, 1, True))
case("interpolate_bilinear_noncontiguous", [normal(1, 5, 2, 6)],
     lambda x: F.interpolate(x.permute(0, 2, 3, 1), size=(9, 7), mode="bilinear", align_corners=False))
# bilinear with antialias
case("interpolate_bilinear_aa_down", [normal(1, 2, 11, 13)], to_size("bilinear", 4, 5, False, True))
case("interpolate_bilinear_aa_down_factor", [normal(1, 1, 12, 10)], by_factor("bilinear", 0.4, 0.55, False, True))
case("interpolate_bilinear_aa_up", [normal(1, 2, 4, 5)], to_size("bilinear", 7, 8, False, True))
case("interpolate_bilinear_aa_mixed", [normal(2, 1, 9, 4)], to_size("bilinear", 4, 7, False, True))
case("interpolate_bilinear_aa_align_corners", [normal(1, 1, 8, 9)], to_size("bilinear", 3, 4, True, True))
case("interpolate_bilinear_aa_same_width", [normal(1, 1, 10, 3)], to_size("bilinear", 4, 3, False, True))
# bicubic
case("interpolate_bicubic_up", [normal(1, 2, 4, 5)], to_size("bicubic", 9, 11))
case("interpolate_bicubic_up_square", [normal(1, 2, 3, 3)], to_size("bicubic", 10, 10))
case("interpolate_bicubic_down", [normal(1, 1, 10, 9)], to_size("bicubic", 4, 3))
case("interpolate_bicubic_align_corners_up", [normal(1, 2, 4, 5)], to_size("bicubic", 7, 8, True))
case("interpolate_bicubic_align_corners_down", [normal(1, 1, 9, 8)], to_size("bicubic", 4, 3, True))
case("interpolate_bicubic_factor", [normal(1, 1, 4, 5)], by_factor("bicubic", 2.5, 1.3))
case("interpolate_bicubic_aa_down", [normal(1, 2, 11, 10)], to_size("bicubic", 4, 3, False, True))
case("interpolate_bicubic_aa_up", [normal(1, 1, 4, 5)], to_size("bicubic", 7, 9, False, True))
case("interpolate_bicubic_aa_factor", [normal(1, 1, 9, 12)], by_factor("bicubic", 0.45, 0.7, False, True))
