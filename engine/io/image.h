#pragma once
// Image files as uint8 tensors: PNG (libpng) and JPEG (libjpeg-turbo) decoded to exactly the pixels
// of PIL's Image.open(path).convert("RGB"), PNG label maps, PNG writing, and mask overlays.
// Errors (missing, empty, truncated, corrupt or unsupported files) throw qatd::Error naming the file
// and the reason.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace qatd::io {

// Images with more pixels are refused before decoding, at the size where PIL raises
// DecompressionBombError (2 * PIL.Image.MAX_IMAGE_PIXELS).
inline constexpr int64_t kMaxImagePixels = 2 * 89478485;

enum class ImageFormat { png, jpeg };

// The format named by the first bytes (the file name's extension is ignored). Throws naming `name`
// for anything else, saying which format it is when it recognises a common one (GIF, BMP, WebP, TIFF).
ImageFormat detect_image_format(const uint8_t* data, size_t size, const std::string& name);

// (H, W, 3) uint8 RGB, as PIL's Image.open(path).convert("RGB"):
// - JPEG: libjpeg-turbo with its defaults (islow DCT, fancy upsampling, no EXIF rotation); grayscale
//   replicated; CMYK/YCCK converted with PIL's formula.
// - PNG: gray (1, 2, 4 bits scaled to 0..255) replicated; alpha dropped; palette looked up (indices past
//   the palette give black); tRNS, gamma and colour profiles ignored; 16-bit RGB, RGBA and gray+alpha
//   keep the high byte, while 16-bit gray is clamped to 255 (PIL's I;16 -> RGB conversion).
Tensor read_image(const std::string& path);
// The same from bytes in memory; `name` stands for the source in error messages.
Tensor decode_image(const uint8_t* data, size_t size, const std::string& name);

// A PNG label map without conversion, (H, W): palette indices (any bit depth) and gray samples of 1 to 8
// bits as uint8 (unscaled: a 1-bit image gives 0 and 1), 16-bit gray as int32. Other colour types
// (RGB, alpha) throw.
Tensor read_png_labels(const std::string& path);

// Writes an 8-bit PNG atomically: (H, W) uint8 as gray, (H, W) bool as gray 0 / 255, (H, W, 3) uint8
// as RGB. Any strides.
void write_png(const std::string& path, const Tensor& image);

// The masks painted over the image, for viewing: image (H, W, 3) uint8; masks (H, W) or (N, H, W),
// bool or uint8 (nonzero is inside) or floating (logits: > 0 is inside). Mask i is blended in turn with
// colour i of a fixed ten-colour palette (the first is SAM 2's demo blue) at opacity `alpha` in [0, 1]:
// round((1 - alpha) * pixel + alpha * colour). Returns a new (H, W, 3) uint8 image.
Tensor overlay_masks(const Tensor& image, const Tensor& masks, double alpha = 0.5);

}  // namespace qatd::io
