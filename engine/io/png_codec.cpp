#include "engine/io/png_codec.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/error.h"
#include "engine/io/image.h"

namespace qatd::io::png_codec {

// libpng reports errors by longjmp to the last setjmp. Every function below that calls setjmp
// holds only trivially destructible locals and C structs, so the jump skips no destructor; the
// C++ objects (owners of the libpng structs, output vectors) live in the callers, outside them.

namespace {

constexpr size_t kMessageLength = 256;

struct ReadState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t position = 0;
  char message[kMessageLength] = {};
};

struct Header {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int bit_depth = 0;
  int color_type = 0;
  int channels = 0;
  int passes = 1;
  size_t row_bytes = 0;
  int palette_size = 0;
  png_color palette[PNG_MAX_PALETTE_LENGTH] = {};
};

void store_message(char* destination, png_const_charp message) {
  std::snprintf(destination, kMessageLength, "%s", message != nullptr ? message : "unknown libpng error");
}

void read_error(png_structp png, png_const_charp message) {
  store_message(static_cast<ReadState*>(png_get_error_ptr(png))->message, message);
  png_longjmp(png, 1);
}

// Ancillary-chunk problems (bad CRC in tEXt, odd iCCP profiles, ...) do not stop PIL either.
void ignore_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep out, size_t length) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (length > state->size - state->position) png_error(png, "unexpected end of file (the file is truncated)");
  std::memcpy(out, state->data + state->position, length);
  state->position += length;
}

// Owns the libpng read structs; destroys them on every path.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& name) {
    state_.data = data;
    state_.size = size;
    state_.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state_, read_error, ignore_warning);
    QATD_CHECK(state_.png != nullptr, "cannot decode PNG {}: libpng could not allocate its read state", name);
    state_.info = png_create_info_struct(state_.png);
    if (state_.info == nullptr) {
      png_destroy_read_struct(&state_.png, nullptr, nullptr);
      fail("cannot decode PNG {}: libpng could not allocate its info state", name);
    }
    png_set_read_fn(state_.png, &state_, read_bytes);
  }
  ~Reader() { png_destroy_read_struct(&state_.png, &state_.info, nullptr); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  ReadState* state() { return &state_; }

 private:
  ReadState state_;
};

// Reads the chunks up to the image data and sets the unpacking transform; false on a libpng error.
bool read_header(ReadState* state, Header* header) {
  if (setjmp(png_jmpbuf(state->png))) return false;
  png_read_info(state->png, state->info);
  int interlace = 0;
  png_get_IHDR(state->png, state->info, &header->width, &header->height, &header->bit_depth, &header->color_type,
               &interlace, nullptr, nullptr);
  // Gamma, sBIT, tRNS and colour profiles are left unapplied, as PIL leaves them.
  if (header->bit_depth < 8) png_set_packing(state->png);
  header->passes = png_set_interlace_handling(state->png);
  png_read_update_info(state->png, state->info);
  header->channels = png_get_channels(state->png, state->info);
  header->row_bytes = png_get_rowbytes(state->png, state->info);
  png_colorp palette = nullptr;
  if (png_get_PLTE(state->png, state->info, &palette, &header->palette_size) != 0) {
    std::memcpy(header->palette, palette, sizeof(png_color) * static_cast<size_t>(header->palette_size));
  } else {
    header->palette_size = 0;
  }
  return true;
}

// Reads every row of every interlace pass into `rows`; false on a libpng error. The chunks after
// the image data are not read: a file missing only its IEND still decodes.
bool read_rows(ReadState* state, const Header* header, uint8_t* rows) {
  if (setjmp(png_jmpbuf(state->png))) return false;
  for (int pass = 0; pass < header->passes; ++pass) {
    for (png_uint_32 y = 0; y < header->height; ++y) {
      png_read_row(state->png, rows + static_cast<size_t>(y) * header->row_bytes, nullptr);
    }
  }
  return true;
}

struct WriteState {
  png_structp png = nullptr;
  png_infop info = nullptr;
  uint8_t* bytes = nullptr;  // malloc'd, grown by write_bytes
  size_t size = 0;
  size_t capacity = 0;
  char message[kMessageLength] = {};
};

void write_error(png_structp png, png_const_charp message) {
  store_message(static_cast<WriteState*>(png_get_error_ptr(png))->message, message);
  png_longjmp(png, 1);
}

void write_bytes(png_structp png, png_bytep data, size_t length) {
  auto* state = static_cast<WriteState*>(png_get_io_ptr(png));
  if (length > state->capacity - state->size) {
    size_t capacity = state->capacity == 0 ? 4096 : state->capacity;
    while (capacity - state->size < length) capacity *= 2;
    auto* grown = static_cast<uint8_t*>(std::realloc(state->bytes, capacity));
    if (grown == nullptr) png_error(png, "out of memory");
    state->bytes = grown;
    state->capacity = capacity;
  }
  std::memcpy(state->bytes + state->size, data, length);
  state->size += length;
}

void flush_nothing(png_structp) {}

class Writer {
 public:
  explicit Writer(const std::string& name) {
    state_.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state_, write_error, ignore_warning);
    QATD_CHECK(state_.png != nullptr, "cannot encode PNG {}: libpng could not allocate its write state", name);
    state_.info = png_create_info_struct(state_.png);
    if (state_.info == nullptr) {
      png_destroy_write_struct(&state_.png, nullptr);
      fail("cannot encode PNG {}: libpng could not allocate its info state", name);
    }
    png_set_write_fn(state_.png, &state_, write_bytes, flush_nothing);
  }
  ~Writer() {
    png_destroy_write_struct(&state_.png, &state_.info);
    std::free(state_.bytes);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  WriteState* state() { return &state_; }

 private:
  WriteState state_;
};

bool write_image(WriteState* state, const uint8_t* pixels, png_uint_32 height, png_uint_32 width, int channels) {
  if (setjmp(png_jmpbuf(state->png))) return false;
  int color_type = channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  png_set_IHDR(state->png, state->info, width, height, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(state->png, state->info);
  size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels);
  for (png_uint_32 y = 0; y < height; ++y) {
    png_write_row(state->png, pixels + static_cast<size_t>(y) * row_bytes);
  }
  png_write_end(state->png, state->info);
  return true;
}

}  // namespace

RawImage decode(const uint8_t* data, size_t size, const std::string& name) {
  Reader reader(data, size, name);
  Header header;
  QATD_CHECK(read_header(reader.state(), &header), "cannot decode PNG {}: {}", name, reader.state()->message);
  int64_t pixels = static_cast<int64_t>(header.width) * static_cast<int64_t>(header.height);
  QATD_CHECK(pixels <= kMaxImagePixels, "cannot decode PNG {}: {}x{} pixels exceed the limit of {} pixels", name,
             header.width, header.height, kMaxImagePixels);
  RawImage image;
  image.height = header.height;
  image.width = header.width;
  image.bit_depth = header.bit_depth;
  image.color_type = static_cast<ColorType>(header.color_type);
  image.channels = header.channels;
  image.row_bytes = header.row_bytes;
  image.samples.resize(header.row_bytes * header.height);
  QATD_CHECK(read_rows(reader.state(), &header, image.samples.data()), "cannot decode PNG {}: {}", name,
             reader.state()->message);
  for (int i = 0; i < header.palette_size; ++i) {
    image.palette.insert(image.palette.end(), {header.palette[i].red, header.palette[i].green, header.palette[i].blue});
  }
  return image;
}

std::vector<uint8_t> encode(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                            const std::string& name) {
  QATD_CHECK(channels == 1 || channels == 3, "cannot encode PNG {}: {} channels (expected 1 or 3)", name, channels);
  QATD_CHECK(height > 0 && width > 0 && height <= PNG_UINT_31_MAX && width <= PNG_UINT_31_MAX,
             "cannot encode PNG {}: a PNG cannot hold a {}x{} image", name, width, height);
  Writer writer(name);
  QATD_CHECK(write_image(writer.state(), pixels, static_cast<png_uint_32>(height), static_cast<png_uint_32>(width),
                         channels),
             "cannot encode PNG {}: {}", name, writer.state()->message);
  return std::vector<uint8_t>(writer.state()->bytes, writer.state()->bytes + writer.state()->size);
}

}  // namespace qatd::io::png_codec
