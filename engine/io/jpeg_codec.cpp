#include "engine/io/jpeg_codec.h"

// jpeglib.h needs size_t and FILE declared before it.
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>

#include "engine/error.h"
#include "engine/io/image.h"

namespace qatd::io::jpeg_codec {

// libjpeg reports errors through error_exit, which must not return: it longjmps to the last
// setjmp. The functions below that call setjmp hold only trivially destructible locals and C
// structs, so the jump skips no destructor; the output tensor is allocated between them.

namespace {

struct DecodeState {
  jpeg_decompress_struct info;
  jpeg_error_mgr error;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

DecodeState* state_of(j_common_ptr info) { return static_cast<DecodeState*>(info->client_data); }

[[noreturn]] void error_exit(j_common_ptr info) {
  DecodeState* state = state_of(info);
  (*info->err->format_message)(info, state->message);
  std::longjmp(state->jump, 1);
}

// Warnings about corrupt but decodable data are ignored (PIL decodes through them too); running out
// of data, which libjpeg papers over with a fake end-of-image marker and grey blocks, is an error,
// as PIL's "image file is truncated".
void emit_message(j_common_ptr info, int level) {
  if (level >= 0 || info->err->msg_code != JWRN_JPEG_EOF) return;
  DecodeState* state = state_of(info);
  std::snprintf(state->message, sizeof(state->message), "Premature end of JPEG file (the file is truncated)");
  std::longjmp(state->jump, 1);
}

void output_nothing(j_common_ptr) {}

// Owns the libjpeg decompressor; destroys it on every path (jpeg_destroy is safe on a struct that
// was never created, whose memory manager is null).
class Decoder {
 public:
  Decoder() : state_{} {
    state_.info.err = jpeg_std_error(&state_.error);
    state_.error.error_exit = error_exit;
    state_.error.emit_message = emit_message;
    state_.error.output_message = output_nothing;
    state_.info.client_data = &state_;
  }
  ~Decoder() { jpeg_destroy_decompress(&state_.info); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  DecodeState* state() { return &state_; }

 private:
  DecodeState state_;
};

// Reads the header and starts decompression with libjpeg's defaults, which are PIL's; false on a
// libjpeg error.
bool start(DecodeState* state, const uint8_t* data, size_t size) {
  if (setjmp(state->jump)) return false;
  jpeg_create_decompress(&state->info);
  jpeg_mem_src(&state->info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&state->info, TRUE);
  switch (state->info.num_components) {
    case 1: state->info.out_color_space = JCS_GRAYSCALE; break;
    case 3: state->info.out_color_space = JCS_RGB; break;
    case 4: state->info.out_color_space = JCS_CMYK; break;
    default: break;  // rejected by the caller before any pixel is read
  }
  if (state->info.num_components == 1 || state->info.num_components == 3 || state->info.num_components == 4) {
    jpeg_start_decompress(&state->info);
  }
  return true;
}

bool read_rows(DecodeState* state, uint8_t* pixels, size_t row_bytes) {
  if (setjmp(state->jump)) return false;
  while (state->info.output_scanline < state->info.output_height) {
    JSAMPROW row = pixels + static_cast<size_t>(state->info.output_scanline) * row_bytes;
    jpeg_read_scanlines(&state->info, &row, 1);
  }
  jpeg_finish_decompress(&state->info);
  return true;
}

// PIL's cmyk2rgb on Adobe-inverted samples: 255 - v per channel, then (255 - k) * (1 - c / 255) with
// PIL's rounding of the product.
uint8_t cmyk_channel(uint8_t inverted_color, uint8_t inverted_black) {
  int color = 255 - inverted_color;
  int not_black = inverted_black;  // 255 - k
  int product = color * not_black + 128;
  int scaled = ((product >> 8) + product) >> 8;
  int value = not_black - scaled;
  return static_cast<uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

}  // namespace

Tensor decode_rgb(const uint8_t* data, size_t size, const std::string& name) {
  Decoder decoder;
  DecodeState* state = decoder.state();
  QATD_CHECK(start(state, data, size), "cannot decode JPEG {}: {}", name, state->message);
  int components = state->info.num_components;
  QATD_CHECK(components == 1 || components == 3 || components == 4,
             "cannot decode JPEG {}: {} colour components are not supported (1, 3 or 4)", name, components);
  int64_t height = state->info.output_height;
  int64_t width = state->info.output_width;
  QATD_CHECK(height * width <= kMaxImagePixels, "cannot decode JPEG {}: {}x{} pixels exceed the limit of {} pixels",
             name, width, height, kMaxImagePixels);
  int channels = state->info.output_components;
  Tensor pixels = empty({height, width, channels}, DType::u8);
  QATD_CHECK(read_rows(state, pixels.data<uint8_t>(), static_cast<size_t>(width) * channels),
             "cannot decode JPEG {}: {}", name, state->message);
  if (channels == 3) return pixels;

  Tensor rgb = empty({height, width, 3}, DType::u8);
  const uint8_t* source = pixels.data<uint8_t>();
  uint8_t* target = rgb.data<uint8_t>();
  int64_t count = height * width;
  if (channels == 1) {
    for (int64_t i = 0; i < count; ++i) target[3 * i] = target[3 * i + 1] = target[3 * i + 2] = source[i];
  } else {
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t* cmyk = source + 4 * i;
      for (int c = 0; c < 3; ++c) target[3 * i + c] = cmyk_channel(cmyk[c], cmyk[3]);
    }
  }
  return rgb;
}

}  // namespace qatd::io::jpeg_codec
