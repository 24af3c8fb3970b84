// Op cases: interpolate (nearest, bilinear, bicubic; align_corners; antialias; size or scale_factor).
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;
using Mode = InterpolateMode;

InterpolateOptions flags(Mode mode, bool align_corners, bool antialias) {
  InterpolateOptions options;
  options.mode = mode;
  options.align_corners = align_corners;
  options.antialias = antialias;
  return options;
}

std::function<Tensor(const Inputs&)> to_size(Mode mode, int64_t height, int64_t width, bool align_corners = false,
                                             bool antialias = false) {
  InterpolateOptions options = flags(mode, align_corners, antialias);
  options.size = {height, width};
  return [options](const Inputs& x) { return interpolate(x[0], options); };
}

std::function<Tensor(const Inputs&)> by_factor(Mode mode, double height, double width, bool align_corners = false,
                                               bool antialias = false) {
  InterpolateOptions options = flags(mode, align_corners, antialias);
  options.scale_factor = {height, width};
  return [options](const Inputs& x) { return interpolate(x[0], options); };
}

RegisterOpCases cases({
    // nearest: the FPN's scale_factor 2, exact-ratio and fractional sizes both ways.
    {"interpolate_nearest_scale2", {S::normal({1, 2, 3, 4})}, by_factor(Mode::nearest, 2.0, 2.0)},
    {"interpolate_nearest_up_odd", {S::normal({2, 1, 3, 5})}, to_size(Mode::nearest, 7, 8)},
    {"interpolate_nearest_down", {S::normal({1, 2, 7, 9})}, to_size(Mode::nearest, 3, 4)},
    {"interpolate_nearest_fractional_factor", {S::normal({1, 1, 5, 6})}, by_factor(Mode::nearest, 1.7, 0.6)},
    // Factors whose outputs come to exactly 2x and 1x the input take PyTorch's index shortcuts.
    {"interpolate_nearest_factor_shortcuts", {S::normal({1, 2, 5, 6})}, by_factor(Mode::nearest, 2.05, 1.1)},
    // bilinear
    {"interpolate_bilinear_up", {S::normal({1, 2, 4, 5})}, to_size(Mode::bilinear, 7, 9)},
    {"interpolate_bilinear_down", {S::normal({1, 2, 9, 11})}, to_size(Mode::bilinear, 4, 5)},
    {"interpolate_bilinear_align_corners_up", {S::normal({1, 2, 4, 5})}, to_size(Mode::bilinear, 7, 8, true)},
    {"interpolate_bilinear_align_corners_down", {S::normal({1, 1, 9, 10})}, to_size(Mode::bilinear, 4, 3, true)},
    {"interpolate_bilinear_factor", {S::normal({1, 2, 5, 4})}, by_factor(Mode::bilinear, 1.5, 2.25)},
    {"interpolate_bilinear_factor_align_corners", {S::normal({1, 1, 5, 4})},
     by_factor(Mode::bilinear, 1.5, 0.6, true)},
    {"interpolate_bilinear_same_height", {S::normal({1, 1, 5, 6})}, to_size(Mode::bilinear, 5, 9)},
    {"interpolate_bilinear_single_row", {S::normal({1, 2, 1, 4})}, to_size(Mode::bilinear, 3, 7)},
    {"interpolate_bilinear_to_one_pixel", {S::normal({1, 2, 4, 5})}, to_size(Mode::bilinear, 1, 1, true)},
    {"interpolate_bilinear_noncontiguous", {S::normal({1, 5, 2, 6})},
     [](const Inputs& x) {
       InterpolateOptions options = flags(Mode::bilinear, false, false);
       options.size = {9, 7};
       return interpolate(x[0].permute({0, 2, 3, 1}), options);
     }},
    // bilinear with antialias: downscaling (torchvision Resize, mask downsampling), upscaling, mixed.
    {"interpolate_bilinear_aa_down", {S::normal({1, 2, 11, 13})}, to_size(Mode::bilinear, 4, 5, false, true)},
    {"interpolate_bilinear_aa_down_factor", {S::normal({1, 1, 12, 10})},
     by_factor(Mode::bilinear, 0.4, 0.55, false, true)},
    {"interpolate_bilinear_aa_up", {S::normal({1, 2, 4, 5})}, to_size(Mode::bilinear, 7, 8, false, true)},
    {"interpolate_bilinear_aa_mixed", {S::normal({2, 1, 9, 4})}, to_size(Mode::bilinear, 4, 7, false, true)},
    {"interpolate_bilinear_aa_align_corners", {S::normal({1, 1, 8, 9})}, to_size(Mode::bilinear, 3, 4, true, true)},
    {"interpolate_bilinear_aa_same_width", {S::normal({1, 1, 10, 3})}, to_size(Mode::bilinear, 4, 3, false, true)},
    // bicubic: the Hiera positional embedding resize (upscaling, align_corners false), and the rest.
    {"interpolate_bicubic_up", {S::normal({1, 2, 4, 5})}, to_size(Mode::bicubic, 9, 11)},
    {"interpolate_bicubic_up_square", {S::normal({1, 2, 3, 3})}, to_size(Mode::bicubic, 10, 10)},
    {"interpolate_bicubic_down", {S::normal({1, 1, 10, 9})}, to_size(Mode::bicubic, 4, 3)},
    {"interpolate_bicubic_align_corners_up", {S::normal({1, 2, 4, 5})}, to_size(Mode::bicubic, 7, 8, true)},
    {"interpolate_bicubic_align_corners_down", {S::normal({1, 1, 9, 8})}, to_size(Mode::bicubic, 4, 3, true)},
    {"interpolate_bicubic_factor", {S::normal({1, 1, 4, 5})}, by_factor(Mode::bicubic, 2.5, 1.3)},
    {"interpolate_bicubic_aa_down", {S::normal({1, 2, 11, 10})}, to_size(Mode::bicubic, 4, 3, false, true)},
    {"interpolate_bicubic_aa_up", {S::normal({1, 1, 4, 5})}, to_size(Mode::bicubic, 7, 9, false, true)},
    {"interpolate_bicubic_aa_factor", {S::normal({1, 1, 9, 12})}, by_factor(Mode::bicubic, 0.45, 0.7, false, true)},
});

}  // namespace
}  // namespace qatd::testing
