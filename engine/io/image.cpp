#include "engine/io/image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/jpeg_codec.h"
#include "engine/io/png_codec.h"

namespace qatd::io {

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  QATD_CHECK(fd >= 0, "cannot read image {}: {}", path, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    fail("cannot read image {}: {}", path, std::strerror(saved));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    fail("cannot read image {}: {}", path, S_ISDIR(info.st_mode) ? "it is a directory" : "not a regular file");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t count = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      int saved = errno;
      ::close(fd);
      fail("cannot read image {}: {}", path, count < 0 ? std::strerror(saved) : "the file shrank while being read");
    }
    done += static_cast<size_t>(count);
  }
  ::close(fd);
  QATD_CHECK(!bytes.empty(), "cannot read image {}: the file is empty", path);
  return bytes;
}

bool starts_with(const uint8_t* data, size_t size, std::string_view prefix, size_t at = 0) {
  return size >= at + prefix.size() && std::memcmp(data + at, prefix.data(), prefix.size()) == 0;
}

png_codec::RawImage decode_png_file(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  ImageFormat format = detect_image_format(bytes.data(), bytes.size(), path);
  QATD_CHECK(format == ImageFormat::png, "cannot read labels from {}: it is a JPEG file; label maps must be PNG",
             path);
  return png_codec::decode(bytes.data(), bytes.size(), path);
}

// One 8-bit sample of a raw PNG row (16-bit samples: their high byte).
uint8_t high_byte(const uint8_t* row, int64_t sample, int bit_depth) {
  return bit_depth == 16 ? row[2 * sample] : row[sample];
}

Tensor png_to_rgb(const png_codec::RawImage& raw, const std::string& name) {
  using png_codec::ColorType;
  Tensor rgb = empty({raw.height, raw.width, 3}, DType::u8);
  uint8_t* out = rgb.data<uint8_t>();
  int depth = raw.bit_depth;
  int64_t width = raw.width;
  // Gray below 8 bits is scaled to 0..255 (PIL's "1", "L;2" and "L;4" unpackers).
  int gray_scale = depth == 1 ? 255 : depth == 2 ? 85 : depth == 4 ? 17 : 1;
  for (int64_t y = 0; y < raw.height; ++y) {
    const uint8_t* row = raw.samples.data() + static_cast<size_t>(y) * raw.row_bytes;
    uint8_t* pixel = out + y * width * 3;
    for (int64_t x = 0; x < width; ++x, pixel += 3) {
      switch (raw.color_type) {
        case ColorType::gray: {
          int value = depth == 16 ? std::min(256 * row[2 * x] + row[2 * x + 1], 255) : row[x] * gray_scale;
          pixel[0] = pixel[1] = pixel[2] = static_cast<uint8_t>(value);
          break;
        }
        case ColorType::gray_alpha:
          pixel[0] = pixel[1] = pixel[2] = high_byte(row, 2 * x, depth);
          break;
        case ColorType::rgb:
        case ColorType::rgba:
          for (int c = 0; c < 3; ++c) pixel[c] = high_byte(row, raw.channels * x + c, depth);
          break;
        case ColorType::palette: {
          size_t index = row[x];
          bool listed = 3 * index + 2 < raw.palette.size();
          for (int c = 0; c < 3; ++c) pixel[c] = listed ? raw.palette[3 * index + c] : 0;
          break;
        }
        default:
          fail("cannot decode PNG {}: unknown colour type {}", name, static_cast<int>(raw.color_type));
      }
    }
  }
  return rgb;
}

std::string_view color_type_name(png_codec::ColorType type) {
  switch (type) {
    case png_codec::ColorType::gray: return "gray";
    case png_codec::ColorType::rgb: return "RGB";
    case png_codec::ColorType::palette: return "palette";
    case png_codec::ColorType::gray_alpha: return "gray+alpha";
    case png_codec::ColorType::rgba: return "RGBA";
  }
  return "unknown";
}

// A ten-colour palette: SAM 2's demo blue, then matplotlib's tab10 after its first colour.
constexpr std::array<std::array<uint8_t, 3>, 10> kOverlayColors = {{
    {30, 144, 255}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
}};

}  // namespace

ImageFormat detect_image_format(const uint8_t* data, size_t size, const std::string& name) {
  QATD_CHECK(size > 0, "cannot read image {}: the file is empty", name);
  using namespace std::string_view_literals;
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n"sv)) return ImageFormat::png;
  if (starts_with(data, size, "\xff\xd8\xff"sv)) return ImageFormat::jpeg;
  std::string_view other;
  if (starts_with(data, size, "GIF87a"sv) || starts_with(data, size, "GIF89a"sv)) other = "GIF";
  // "BM" followed, after the 14-byte file header, by one of the DIB header sizes (12 to 124).
  if (starts_with(data, size, "BM"sv) && size >= 18 && data[15] == 0 && data[16] == 0 && data[17] == 0 &&
      (data[14] == 12 || data[14] == 40 || data[14] == 52 || data[14] == 56 || data[14] == 64 || data[14] == 108 ||
       data[14] == 124)) {
    other = "BMP";
  }
  if (starts_with(data, size, "RIFF"sv) && starts_with(data, size, "WEBP"sv, 8)) other = "WebP";
  if (starts_with(data, size, "II*\0"sv) || starts_with(data, size, "MM\0*"sv)) other = "TIFF";
  QATD_CHECK(other.empty(), "cannot read image {}: it is a {} file; only PNG and JPEG are supported", name, other);
  // A PNG or JPEG cut shorter than its signature lands here too.
  fail("cannot read image {}: not a PNG or JPEG file (unrecognised signature in its first {} bytes)", name,
       std::min<size_t>(size, 8));
}

Tensor decode_image(const uint8_t* data, size_t size, const std::string& name) {
  switch (detect_image_format(data, size, name)) {
    case ImageFormat::png: return png_to_rgb(png_codec::decode(data, size, name), name);
    case ImageFormat::jpeg: return jpeg_codec::decode_rgb(data, size, name);
  }
  fail("cannot read image {}: unknown format", name);
}

Tensor read_image(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return decode_image(bytes.data(), bytes.size(), path);
}

Tensor read_png_labels(const std::string& path) {
  png_codec::RawImage raw = decode_png_file(path);
  bool gray = raw.color_type == png_codec::ColorType::gray;
  QATD_CHECK(gray || raw.color_type == png_codec::ColorType::palette,
             "cannot read labels from {}: it is a {} PNG; label maps must be palette or gray without alpha", path,
             color_type_name(raw.color_type));
  if (raw.bit_depth <= 8) {
    Tensor labels = empty({raw.height, raw.width}, DType::u8);
    std::memcpy(labels.data<uint8_t>(), raw.samples.data(), raw.samples.size());
    return labels;
  }
  Tensor labels = empty({raw.height, raw.width}, DType::i32);
  int32_t* out = labels.data<int32_t>();
  for (size_t i = 0; i < raw.samples.size() / 2; ++i) out[i] = 256 * raw.samples[2 * i] + raw.samples[2 * i + 1];
  return labels;
}

void write_png(const std::string& path, const Tensor& image) {
  QATD_CHECK(image.defined(), "write_png {}: the image tensor is undefined", path);
  bool mask = image.dim() == 2 && (image.dtype() == DType::u8 || image.dtype() == DType::boolean);
  bool rgb = image.dim() == 3 && image.size(2) == 3 && image.dtype() == DType::u8;
  QATD_CHECK(mask || rgb, "write_png {}: expected (H, W) uint8/bool or (H, W, 3) uint8, got {} {}", path,
             shape_str(image.shape()), image.dtype());
  Tensor pixels = image.contiguous();
  if (pixels.dtype() == DType::boolean) {
    Tensor gray = empty(pixels.shape(), DType::u8);
    const bool* source = pixels.data<bool>();
    uint8_t* target = gray.data<uint8_t>();
    for (int64_t i = 0; i < pixels.numel(); ++i) target[i] = source[i] ? 255 : 0;
    pixels = gray;
  }
  std::vector<uint8_t> bytes =
      png_codec::encode(pixels.data<uint8_t>(), image.size(0), image.size(1), rgb ? 3 : 1, path);
  write_file_atomically(path, [&](std::ostream& stream) {
    stream.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

Tensor overlay_masks(const Tensor& image, const Tensor& masks, double alpha) {
  QATD_CHECK(image.defined() && masks.defined(), "overlay_masks: undefined tensor");
  QATD_CHECK(image.dim() == 3 && image.size(2) == 3 && image.dtype() == DType::u8,
             "overlay_masks: image must be (H, W, 3) uint8, got {} {}", shape_str(image.shape()), image.dtype());
  QATD_CHECK(masks.dim() == 2 || masks.dim() == 3, "overlay_masks: masks must be (H, W) or (N, H, W), got {}",
             shape_str(masks.shape()));
  int64_t height = image.size(0);
  int64_t width = image.size(1);
  QATD_CHECK(masks.size(-2) == height && masks.size(-1) == width,
             "overlay_masks: masks {} do not match the image size {}x{} (H x W)", shape_str(masks.shape()), height,
             width);
  QATD_CHECK(alpha >= 0.0 && alpha <= 1.0, "overlay_masks: alpha must be in [0, 1], got {}", alpha);
  // Inside-ness as bytes: floating masks are logits, inside where > 0.
  Tensor inside = (masks.dim() == 2 ? masks.unsqueeze(0) : masks).detach();
  if (is_floating(inside.dtype())) {
    inside = inside.to(DType::f64).contiguous();
    Tensor bytes = empty(inside.shape(), DType::u8);
    const double* source = inside.data<double>();
    uint8_t* target = bytes.data<uint8_t>();
    for (int64_t i = 0; i < inside.numel(); ++i) target[i] = source[i] > 0.0 ? 1 : 0;
    inside = bytes;
  } else {
    QATD_CHECK(inside.dtype() == DType::u8 || inside.dtype() == DType::boolean,
               "overlay_masks: masks must be bool, uint8 or floating, got {}", inside.dtype());
    inside = inside.to(DType::u8).contiguous();
  }
  Tensor out = image.detach().clone();
  uint8_t* pixels = out.data<uint8_t>();
  const uint8_t* flags = inside.data<uint8_t>();
  int64_t count = height * width;
  for (int64_t m = 0; m < inside.size(0); ++m) {
    const auto& color = kOverlayColors[static_cast<size_t>(m) % kOverlayColors.size()];
    const uint8_t* flag = flags + m * count;
    for (int64_t i = 0; i < count; ++i) {
      if (flag[i] == 0) continue;
      for (int c = 0; c < 3; ++c) {
        double blended = (1.0 - alpha) * pixels[3 * i + c] + alpha * color[c];
        pixels[3 * i + c] = static_cast<uint8_t>(std::lround(blended));
      }
    }
  }
  return out;
}

}  // namespace qatd::io
