#pragma once
// Resizing uint8 images bit-exactly as PIL's Image.resize does (Pillow's libImaging/Resample.c and,
// for NEAREST, its affine scaling in Geometry.c). An image operation on pixels, not a differentiable op:
// sam2.utils.misc loads video frames with Image.resize((S, S)), and matching its output pixel for pixel
// is what makes the preprocessed frames equal the official ones.
#include <cstdint>
#include <string_view>

#include "engine/tensor.h"

namespace qatd::io {

// PIL.Image.Resampling, the filters Pillow's resampler has in common with every version since 7.
enum class ResampleFilter { nearest, box, bilinear, hamming, bicubic, lanczos };

// "nearest", "box", "bilinear", "hamming", "bicubic", "lanczos".
std::string_view resample_filter_name(ResampleFilter filter);

// PIL's image.resize((width, height), filter) with its other arguments at their defaults (box: the whole
// image, reducing_gap: None). The default filter is PIL's default for L and RGB images: bicubic.
// Note the argument order: height before width, unlike PIL's (width, height) tuple.
//
// image: (H, W) or (H, W, C) uint8, any strides, on the CPU; returns a new (height, width) or
// (height, width, C) uint8 tensor. Channels are resampled independently, as PIL does for modes L, La,
// RGB and RGBa (for LA and RGBA images, PIL premultiplies the colours by alpha before resampling and
// divides after; pass such images premultiplied). An image already of the requested size is copied,
// as PIL does.
//
// The filters run as in Pillow 13: weights computed in double over the support scaled by the downscaling
// factor, normalised to sum 1, then rounded to 22-bit fixed point; a horizontal pass, then a vertical
// one (the vertical one first when the height shrinks and the width does not, a Pillow 13 change that
// moves some pixels by one or two levels against older Pillows), each rounding and clipping to uint8; a
// pass is skipped when its size does not change. NEAREST steps through the source with PIL's accumulated
// double coordinates.
Tensor resize_image(const Tensor& image, int64_t height, int64_t width,
                    ResampleFilter filter = ResampleFilter::bicubic);

}  // namespace qatd::io
