#pragma once
// PNG encoding and decoding with libpng, in memory. Internal to engine/io/image.cpp: callers use
// the tensor functions of engine/io/image.h.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qatd::io::png_codec {

// libpng's colour types (PNG_COLOR_TYPE_*), named so that callers need not include png.h.
enum class ColorType : uint8_t { gray = 0, rgb = 2, palette = 3, gray_alpha = 4, rgba = 6 };

// A decoded image before any colour conversion: one byte per sample for bit depths 1 to 8 (packed
// samples are unpacked, values unscaled), two big-endian bytes per sample for bit depth 16.
struct RawImage {
  int64_t height = 0;
  int64_t width = 0;
  int bit_depth = 0;
  ColorType color_type = ColorType::gray;
  int channels = 0;       // samples per pixel
  size_t row_bytes = 0;   // width * channels * (bit_depth == 16 ? 2 : 1)
  std::vector<uint8_t> samples;  // height rows of row_bytes
  std::vector<uint8_t> palette;  // RGB triples of PLTE (palette images only)
};

// Decodes a whole PNG file held in memory; throws qatd::Error naming `name` and libpng's reason.
RawImage decode(const uint8_t* data, size_t size, const std::string& name);

// Encodes 8-bit rows (channels 1: gray, 3: RGB), rows contiguous; throws naming `name`.
std::vector<uint8_t> encode(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                            const std::string& name);

}  // namespace qatd::io::png_codec
