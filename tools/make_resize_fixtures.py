#!/usr/bin/env python3
"""Writes tests/fixtures/images/resize/resize.safetensors: what Pillow's Image.resize makes of small
generated images (modes L, La, RGB, RGBa) with every filter the engine implements, downscaling,
upscaling, one axis only, to 1x1 and to the same size; and of the SAM 2 reference frames and image
resized to 1024x1024 and to odd sizes.

Layout: input.NAME holds each generated image (H, W[, C]) uint8. For each case, expected.CASE holds
Pillow's output when it is small; for large outputs only a summary is stored: rowsums.CASE (H,) int32,
the sum of each row's values (to locate a mismatch), and fnv1a.CASE (1,) int64, the FNV-1a 64-bit hash
of the row-major bytes (reinterpreted as signed). The metadata entry "cases" is a JSON list of
{name, source, height, width, filter}, source being "input.NAME" or a path under tests/fixtures.

official_loader.safetensors holds what the official sam2.utils.misc.load_video_frames_from_jpg_images
returns for two reference frames named 7.jpg and 10.jpg at image_size 83 (the test loads the same).

It also checks that Image.resize's default filter is BICUBIC for RGB images and that the installed
sam2.utils.misc._load_img_as_tensor gives exactly these pixels (it passes no filter).
Run by hand, never in CI:  .venv-torch/bin/python tools/make_resize_fixtures.py
"""
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OUT_DIR = FIXTURES / "images" / "resize"
FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
MODES = {1: "L", 2: "La", 3: "RGB", 4: "RGBa"}
FULL_LIMIT = 8192  # outputs with more values are stored as a summary


def to_pil(pixels):
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    mode = MODES[channels]
    if mode in ("L", "RGB"):
        return Image.fromarray(pixels, mode)
    # La and RGBa (premultiplied alpha) are resampled channel by channel, with no conversion.
    return Image.frombytes(mode, (pixels.shape[1], pixels.shape[0]), pixels.tobytes())


def from_pil(image, channels):
    array = np.frombuffer(image.tobytes(), dtype=np.uint8)
    shape = (image.height, image.width) if channels == 1 else (image.height, image.width, channels)
    return array.reshape(shape)


def fnv1a(data):
    value = 0xCBF29CE484222325
    for byte in data.tobytes():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return np.array([value], dtype=np.uint64).view(np.int64)


def generated_inputs(rng):
    def noisy_gradient(h, w, c):
        yy, xx = np.mgrid[0:h, 0:w]
        base = (xx * 255 / max(w - 1, 1) + yy * 255 / max(h - 1, 1)) / 2
        image = base[..., None] + rng.normal(0, 40, size=(h, w, c))
        # Hard black/white stripes make the negative lobes overshoot, exercising the clipping.
        image[:, ::5] = 255
        image[::4, :] = 0
        image = np.clip(image, 0, 255).astype(np.uint8)
        return image[..., 0] if c == 1 else image

    return {
        "rgb_13x17": rng.integers(0, 256, size=(13, 17, 3), dtype=np.uint8),
        "rgb_32x24": noisy_gradient(32, 24, 3),
        "rgb_1x9": rng.integers(0, 256, size=(1, 9, 3), dtype=np.uint8),
        "rgb_9x1": rng.integers(0, 256, size=(9, 1, 3), dtype=np.uint8),
        "rgb_3x3": rng.integers(0, 256, size=(3, 3, 3), dtype=np.uint8),
        "gray_40x57": noisy_gradient(40, 57, 1),
        "la_11x7": rng.integers(0, 256, size=(11, 7, 2), dtype=np.uint8),
        "rgba_23x19": noisy_gradient(23, 19, 4),
    }


def target_sizes(h, w):
    sizes = {
        (max(1, h // 2), max(1, w // 3)),  # down
        (2 * h + 1, 3 * w - 1),  # up
        (h + 5, max(1, w // 2)),  # up and down
        (max(1, h // 2), 2 * w + 1),  # down and up: Pillow 13 runs the vertical pass first
        (max(1, h - 2), w + 1),  # the same, barely
        (h, w + 3),  # horizontal only
        (max(1, h - 3), w),  # vertical only
        (1, 1),
        (h, w),  # same size: a copy
        (7 * h, 5 * w),  # large upscale
    }
    return sorted(sizes)


def write_official_loader_fixture():
    """official_loader.safetensors: the official frame loader on frames 0 and 1 of the reference,
    named 7.jpg and 10.jpg (so that only a numeric sort orders them), at image_size 83 (downscaled)."""
    try:
        import torch
        from sam2.utils.misc import load_video_frames_from_jpg_images
    except ImportError:
        print("sam2 is not installed: official_loader.safetensors not written")
        return
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(FIXTURES / "sam2_micro_a" / "frames" / "00000.jpg", Path(folder) / "7.jpg")
        shutil.copyfile(FIXTURES / "sam2_micro_a" / "frames" / "00001.jpg", Path(folder) / "10.jpg")
        images, height, width = load_video_frames_from_jpg_images(
            folder, 83, offload_video_to_cpu=True, compute_device=torch.device("cpu"))
    assert (height, width) == (256, 256)
    save_file({"images": images.numpy()}, str(OUT_DIR / "official_loader.safetensors"),
              metadata={"frames": "sam2_micro_a/frames/00000.jpg as 7.jpg, 00001.jpg as 10.jpg", "image_size": "83"})
    print(f"wrote {OUT_DIR / 'official_loader.safetensors'}: images {tuple(images.shape)}")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240612)
    tensors = {}
    cases = []

    def add_case(name, source, pixels, height, width, filter_name):
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        resized = from_pil(to_pil(pixels).resize((width, height), FILTERS[filter_name]), channels)
        assert resized.shape[:2] == (height, width)
        if resized.size <= FULL_LIMIT:
            tensors[f"expected.{name}"] = resized
        else:
            tensors[f"rowsums.{name}"] = resized.reshape(height, -1).astype(np.int32).sum(axis=1)
            tensors[f"fnv1a.{name}"] = fnv1a(resized)
        cases.append({"name": name, "source": source, "height": height, "width": width, "filter": filter_name})
        return resized

    for key, pixels in generated_inputs(rng).items():
        tensors[f"input.{key}"] = pixels
        h, w = pixels.shape[:2]
        for height, width in target_sizes(h, w):
            for filter_name in FILTERS:
                add_case(f"{key}_to_{height}x{width}_{filter_name}", f"input.{key}", pixels, height, width,
                         filter_name)

    def file_case(relative, height, width, filter_name):
        pixels = np.array(Image.open(FIXTURES / relative).convert("RGB"))
        stem = Path(relative).stem
        return add_case(f"{stem}_to_{height}x{width}_{filter_name}", relative, pixels, height, width, filter_name)

    frames = [f"images/frame_0000{i}.png" for i in range(4)]
    for frame in frames:
        file_case(frame, 1024, 1024, "bicubic")
    for filter_name in ("nearest", "bilinear", "lanczos"):
        file_case(frames[0], 1024, 1024, filter_name)
    file_case(frames[1], 177, 301, "bicubic")
    file_case(frames[1], 61, 97, "bicubic")
    file_case(frames[1], 61, 97, "lanczos")
    file_case(frames[2], 513, 1023, "bicubic")
    file_case(frames[3], 255, 257, "bicubic")
    image = "sam2_micro_a/image.png"
    file_case(image, 256, 256, "bicubic")
    file_case(image, 1024, 1024, "bicubic")
    file_case(image, 199, 333, "bicubic")
    file_case(image, 199, 333, "bilinear")
    file_case(image, 1024, 1024, "bilinear")
    file_case(image, 300, 800, "bicubic")  # the vertical pass first
    file_case(frames[0], 100, 256, "bicubic")  # the vertical pass only

    # The default filter for RGB is BICUBIC, and the official loader relies on it.
    rgb = Image.open(FIXTURES / image).convert("RGB")
    assert np.array_equal(np.array(rgb.resize((256, 256))), np.array(rgb.resize((256, 256), Image.Resampling.BICUBIC)))
    try:
        from sam2.utils.misc import _load_img_as_tensor
    except ImportError:
        print("sam2 is not installed: skipped the check against _load_img_as_tensor")
    else:
        loaded, height, width = _load_img_as_tensor(str(FIXTURES / image), 256)
        expected = np.array(rgb.resize((256, 256), Image.Resampling.BICUBIC)).transpose(2, 0, 1) / 255.0
        assert (height, width) == (480, 720) and np.array_equal(loaded.numpy(), expected)
        print("sam2 _load_img_as_tensor resizes with Pillow's default BICUBIC: checked")

    write_official_loader_fixture()

    metadata = {"cases": json.dumps(cases), "pillow": PIL.__version__}
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(OUT_DIR / "resize.safetensors"),
              metadata=metadata)
    print(f"wrote {len(cases)} cases ({len(tensors)} tensors) to {OUT_DIR / 'resize.safetensors'} "
          f"with Pillow {PIL.__version__}")


if __name__ == "__main__":
    main()
