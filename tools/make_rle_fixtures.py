#!/usr/bin/env python3
"""Writes tests/fixtures/data/rle/cases.json: binary masks with their COCO run-length encodings as
pycocotools (the official COCO encoder, maskApi.c) produces them, for tests/train/data/test_coco_rle.cpp.

Per case: "size" [h, w]; "set_indices", the row-major indices of the pixels inside (the mask, independent
of any RLE); "counts", pycocotools' compressed string (mask.encode); "uncompressed", the run lengths in
column-major order, cross-checked against pycocotools (frPyObjects of them must give the same string, and
decoding that string must give the mask back); "area", pycocotools' mask.area.

Run by hand, never in CI:  .venv-torch/bin/python tools/make_rle_fixtures.py   (pip install pycocotools)
"""
import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "data" / "rle" / "cases.json"


def blobs(height, width, count, seed):
    """A few random discs and rectangles, some touching the border."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:height, 0:width]
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(count):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        if rng.uniform() < 0.5:
            radius = rng.uniform(1, max(height, width) / 3)
            mask |= (rows - cy) ** 2 + (columns - cx) ** 2 <= radius ** 2
        else:
            half_height, half_width = rng.uniform(0.5, height / 3), rng.uniform(0.5, width / 3)
            mask |= (np.abs(rows - cy) <= half_height) & (np.abs(columns - cx) <= half_width)
    return mask


def cases():
    empty = np.zeros((5, 4), dtype=bool)
    full = np.ones((3, 6), dtype=bool)
    first_pixel = np.zeros((4, 5), dtype=bool)
    first_pixel[0, 0] = True
    last_pixel = np.zeros((4, 5), dtype=bool)
    last_pixel[3, 4] = True
    top_right = np.zeros((4, 5), dtype=bool)
    top_right[0, 4] = True
    bottom_left = np.zeros((4, 5), dtype=bool)
    bottom_left[3, 0] = True
    noise_rng = np.random.default_rng(7)
    odd = noise_rng.uniform(size=(7, 13)) < 0.45  # many short runs: negative deltas in the string
    row = noise_rng.uniform(size=(1, 50)) < 0.5
    row[0, 0] = True
    column = np.zeros((40, 1), dtype=bool)
    column[10:31, 0] = True
    long_runs = np.zeros((300, 400), dtype=bool)  # 120000 pixels: runs past 2^16, counts of many 5-bit groups
    long_runs[200:210, 250:270] = True
    long_runs[299, 399] = True
    starts_inside = blobs(24, 32, 4, seed=3)
    starts_inside[0, 0] = True
    return [
            ("empty", empty),
            ("full", full),
            ("first_pixel", first_pixel),
            ("last_pixel", last_pixel),
            ("top_right_pixel", top_right),
            ("bottom_left_pixel", bottom_left),
            ("blobs_24x32", blobs(24, 32, 5, seed=1)),
            ("blobs_starting_inside_24x32", starts_inside),
            ("noise_7x13", odd),
            ("row_1x50", row),
            ("column_40x1", column),
            ("long_runs_300x400", long_runs),
    ]


def column_major_runs(mask):
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    boundaries = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(boundaries).tolist()
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    return runs


def main():
    output = []
    for name, mask in cases():
        height, width = mask.shape
        encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        counts = encoded["counts"].decode("ascii")
        runs = column_major_runs(mask)
        from_runs = mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)
        assert from_runs["counts"].decode("ascii") == counts, name
        assert np.array_equal(mask_utils.decode(encoded).astype(bool), mask), name
        assert sum(runs) == height * width, name
        output.append({
                "name": name,
                "size": [int(height), int(width)],
                "set_indices": np.flatnonzero(mask.flatten(order="C")).tolist(),
                "counts": counts,
                "uncompressed": runs,
                "area": int(mask_utils.area(encoded)),
        })
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(output, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes, {len(output)} cases)")


if __name__ == "__main__":
    main()
