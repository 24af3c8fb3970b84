#pragma once
// JPEG decoding with libjpeg-turbo, in memory. Internal to engine/io/image.cpp: callers use the
// tensor functions of engine/io/image.h.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace qatd::io::jpeg_codec {

// (H, W, 3) uint8 RGB with exactly the pixels PIL's Image.open(...).convert("RGB") gives: libjpeg's
// defaults (islow DCT, fancy upsampling), grayscale replicated, CMYK/YCCK read with Adobe's inverted
// convention and converted with PIL's formula. Throws qatd::Error naming `name` and libjpeg's reason;
// a truncated file is an error, as in PIL.
Tensor decode_rgb(const uint8_t* data, size_t size, const std::string& name);

}  // namespace qatd::io::jpeg_codec
