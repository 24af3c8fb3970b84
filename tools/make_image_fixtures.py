#!/usr/bin/env python3
"""Writes tests/fixtures/images/: small PNG and JPEG files of every colour type, bit depth and
layout the engine's image reader handles, and expected.safetensors with what PIL makes of them:
NAME.rgb = np.array(Image.open(NAME).convert("RGB")) and, for PNGs readable as label maps,
NAME.labels = the stored samples (palette indices or gray values, unscaled).

The PNGs are assembled by hand (zlib + chunks, with Adam7 interlacing where asked) so that every
variant exists, including ones PIL cannot write. The JPEGs are written by PIL. It also copies the
video frames of the SAM 2 reference (frames/0000N.jpg and the .png of the pixels the official
loader decoded from them).
Run by hand, never in CI:  .venv-torch/bin/python tools/make_image_fixtures.py
"""
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "images"
REFERENCE_FRAMES = Path("/work/shared/reference/sam2_micro_a/frames")
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """(h, w*channels) integer samples -> filter-type-0 scanlines."""
    out = b""
    for row in samples:
        if bit_depth == 16:
            data = row.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            per_byte = 8 // bit_depth
            padded = np.zeros(-(-len(row) // per_byte) * per_byte, dtype=np.uint32)
            padded[: len(row)] = row
            groups = padded.reshape(-1, per_byte)
            shifts = bit_depth * np.arange(per_byte - 1, -1, -1)
            data = (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()
        out += b"\x00" + data
    return out


def make_png(samples, bit_depth, color_type, palette=None, trns=None, interlaced=False):
    """samples: (h, w, channels) integers."""
    h, w, c = samples.shape
    if interlaced:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                raw += pack_rows(sub.reshape(sub.shape[0], -1), bit_depth)
    else:
        raw = pack_rows(samples.reshape(h, w * c), bit_depth)
    header = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlaced))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).ravel()))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    return png + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    h, w = 7, 13
    expected = {}

    def png_case(name, bit_depth, color_type, samples=None, labels=False, **kwargs):
        c = CHANNELS[color_type]
        if samples is None:
            samples = rng.integers(0, 2**bit_depth, size=(h, w, c))
        path = OUT_DIR / f"{name}.png"
        path.write_bytes(make_png(samples, bit_depth, color_type, **kwargs))
        expected[f"{name}.rgb"] = np.array(Image.open(path).convert("RGB"))
        if labels:
            expected[f"{name}.labels"] = samples[..., 0].astype(np.int32 if bit_depth == 16 else np.uint8)

    for depth in (1, 2, 4, 8):
        png_case(f"gray{depth}", depth, 0, labels=True)
    gray16 = rng.integers(0, 2**16, size=(h, w, 1))
    gray16[0, :6, 0] = [0, 1, 254, 255, 256, 257]  # below and just above the clamp at 255
    png_case("gray16", 16, 0, samples=gray16, labels=True)
    png_case("gray8_trns", 8, 0, trns=b"\x00\x07", labels=True)
    png_case("gray_alpha8", 8, 4)
    png_case("gray_alpha16", 16, 4)
    png_case("rgb8", 8, 2)
    png_case("rgb16", 16, 2)
    png_case("rgb8_trns", 8, 2, trns=b"\x00\x01\x00\x02\x00\x03")
    png_case("rgba8", 8, 6)
    png_case("rgba16", 16, 6)
    for depth in (1, 2, 4, 8):
        palette = rng.integers(0, 256, size=(2**depth, 3))
        png_case(f"palette{depth}", depth, 3, palette=palette, labels=True)
    palette = rng.integers(0, 256, size=(5, 3))
    png_case("palette8_short", 8, 3, samples=rng.integers(0, 9, size=(h, w, 1)), palette=palette, labels=True)
    png_case("palette8_trns", 8, 3, samples=rng.integers(0, 5, size=(h, w, 1)), palette=palette,
             trns=b"\x00\x80", labels=True)
    png_case("rgb8_interlaced", 8, 2, interlaced=True)
    png_case("palette2_interlaced", 2, 3, palette=rng.integers(0, 256, size=(4, 3)), interlaced=True, labels=True)
    png_case("gray16_interlaced", 16, 0, interlaced=True, labels=True)

    # JPEGs: smooth colour gradients with noise, odd sizes so that partial MCUs are decoded.
    jh, jw = 37, 53
    yy, xx = np.mgrid[0:jh, 0:jw]
    base = np.stack([xx * 255 / jw, yy * 255 / jh, (xx + yy) * 255 / (jh + jw)], axis=-1)
    rgb = np.clip(base + rng.normal(0, 25, size=base.shape), 0, 255).astype(np.uint8)
    jpeg_cases = {
        "jpeg420": dict(quality=90),
        "jpeg444": dict(quality=90, subsampling="4:4:4"),
        "jpeg422": dict(quality=75, subsampling="4:2:2"),
        "jpeg_progressive": dict(quality=85, progressive=True),
        "jpeg_optimized": dict(quality=60, optimize=True),
    }
    for name, options in jpeg_cases.items():
        Image.fromarray(rgb).save(OUT_DIR / f"{name}.jpg", **options)
    Image.fromarray(rgb[..., 1]).save(OUT_DIR / "jpeg_gray.jpg", quality=90)
    cmyk = np.concatenate([rgb, rng.integers(0, 256, size=(jh, jw, 1), dtype=np.uint8)], axis=-1)
    Image.fromarray(cmyk, mode="CMYK").save(OUT_DIR / "jpeg_cmyk.jpg", quality=90)
    for name in [*jpeg_cases, "jpeg_gray", "jpeg_cmyk"]:
        expected[f"{name}.rgb"] = np.array(Image.open(OUT_DIR / f"{name}.jpg").convert("RGB"))

    for frame in sorted(REFERENCE_FRAMES.glob("0000*")):
        shutil.copyfile(frame, OUT_DIR / f"frame_{frame.name}")

    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, str(OUT_DIR / "expected.safetensors"))
    print(f"wrote {len(expected)} tensors to {OUT_DIR / 'expected.safetensors'}")


if __name__ == "__main__":
    main()
