#!/usr/bin/env python3
"""Writes tests/fixtures/data/{sa1b,davis,sav}/: tiny samples of the three annotated-image formats the data
layer reads (train/data/sa1b_source.h, mask_folder_source.h, sav_source.h), each with expected.json, and
a broken/ subfolder of deliberately bad files for the error tests (tests/train/data/test_sources.cpp).

The masks are drawn with numpy; the JSON files hold pycocotools' encodings of them (the official COCO
encoder) and the PNG label maps are written by PIL. expected.json lists each mask as the row-major indices
of its pixels, from the numpy arrays, after checking that pycocotools / PIL read the files back to them:
nothing in it comes from the code under test. Deterministic: fixed seeds, no timestamps.

Run by hand, never in CI:  .venv-torch/bin/python tools/make_data_fixtures.py   (pip install pycocotools)
"""
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from make_rle_fixtures import column_major_runs

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "fixtures" / "data"
HEIGHT, WIDTH = 24, 32


def shape_mask(rng, height=HEIGHT, width=WIDTH):
    """A random ellipse or rectangle, never empty."""
    rows, columns = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(3, height - 3), rng.uniform(3, width - 3)
    ry, rx = rng.uniform(2, height / 3), rng.uniform(2, width / 3)
    if rng.uniform() < 0.5:
        return ((rows - cy) / ry) ** 2 + ((columns - cx) / rx) ** 2 <= 1.0
    return (np.abs(rows - cy) <= ry) & (np.abs(columns - cx) <= rx)


def painted_image(rng, masks, height=HEIGHT, width=WIDTH):
    """A smooth background with each mask painted in its own colour (what the pixels are does not matter)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0] = np.linspace(30, 90, width, dtype=np.uint8)[None, :]
    image[..., 1] = np.linspace(40, 120, height, dtype=np.uint8)[:, None]
    image[..., 2] = 60
    for mask in masks:
        image[mask] = rng.integers(100, 256, size=3, dtype=np.uint8)
    return image


def save_jpeg(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=75)


def indices(mask):
    return np.flatnonzero(mask.flatten(order="C")).tolist()


def compressed_rle(mask):
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert np.array_equal(mask_utils.decode(encoded).astype(bool), mask)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": encoded["counts"].decode("ascii")}


def uncompressed_rle(mask):
    height, width = mask.shape
    runs = column_major_runs(mask)
    official = mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)
    assert np.array_equal(mask_utils.decode(official).astype(bool), mask)
    return {"size": [int(height), int(width)], "counts": runs}


def write_json(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")


def sa1b_annotation(index, segmentation, mask):
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        "id": 1000 + index,
        "segmentation": segmentation,
        "area": int(mask.sum()),
        "bbox": [float(v) for v in mask_utils.toBbox(encoded)],
        "predicted_iou": 0.9,
        "stability_score": 0.95,
        "point_coords": [[1.0, 1.0]],
        "crop_box": [0.0, 0.0, float(mask.shape[1]), float(mask.shape[0])],
    }


def sa1b_document(image_id, file_name, annotations, height=HEIGHT, width=WIDTH):
    return {"image": {"image_id": image_id, "width": width, "height": height, "file_name": file_name},
            "annotations": annotations}


def make_sa1b(rng):
    folder = DATA / "sa1b"
    images = {}
    # sa_1: three overlapping masks, compressed counts. sa_2: uncompressed counts, with an empty mask and a
    # 2-pixel one for the area filter. sa_3 has no JSON.
    first = [shape_mask(rng) for _ in range(3)]
    tiny = np.zeros((HEIGHT, WIDTH), dtype=bool)
    tiny[0, 0] = tiny[23, 31] = True
    second = [shape_mask(rng), np.zeros((HEIGHT, WIDTH), dtype=bool), tiny, shape_mask(rng)]
    for name, masks, encode in (("sa_1", first, compressed_rle), ("sa_2", second, uncompressed_rle)):
        save_jpeg(folder / f"{name}.jpg", painted_image(rng, masks))
        annotations = [sa1b_annotation(i, encode(mask), mask) for i, mask in enumerate(masks)]
        write_json(folder / f"{name}.json", sa1b_document(int(name[3:]), f"{name}.jpg", annotations))
        images[f"{name}.jpg"] = masks
    save_jpeg(folder / "sa_3.jpg", painted_image(rng, []))

    def kept(min_area_fraction, max_masks):
        result = {}
        for name, masks in images.items():
            chosen = [i for i, mask in enumerate(masks)
                      if mask.sum() > 0 and mask.sum() >= min_area_fraction * HEIGHT * WIDTH]
            result[name] = chosen if max_masks is None else chosen[:max_masks]
        return result

    filters = [(0.0, None), (0.01, None), (0.0, 1), (0.01, 2)]
    expected = {
        "images_without_json": 1,
        "items": [{"name": name, "height": HEIGHT, "width": WIDTH, "annotations": [indices(m) for m in masks]}
                  for name, masks in images.items()],
        "filters": [{"min_area_fraction": f, "max_masks": m, "kept": kept(f, m)} for f, m in filters],
    }
    write_json(folder / "expected.json", expected)

    broken = folder / "broken"
    mask = shape_mask(rng)
    save_jpeg(broken / "sa_malformed.jpg", painted_image(rng, [mask]))
    (broken / "sa_malformed.json").write_text('{"image": {"image_id": 4}, "annotations": [{"segmentation": \n')
    save_jpeg(broken / "sa_rle_size.jpg", painted_image(rng, [mask]))
    small = shape_mask(rng, HEIGHT - 4, WIDTH)
    write_json(broken / "sa_rle_size.json",
               sa1b_document(5, "sa_rle_size.jpg", [sa1b_annotation(0, compressed_rle(mask), mask),
                                                    sa1b_annotation(1, compressed_rle(small), small)]))
    save_jpeg(broken / "sa_bad_counts.jpg", painted_image(rng, [mask]))
    bad = compressed_rle(mask)
    bad["counts"] = bad["counts"][:-1] + "~"
    write_json(broken / "sa_bad_counts.json", sa1b_document(6, "sa_bad_counts.jpg", [sa1b_annotation(0, bad, mask)]))
    save_jpeg(broken / "sa_wrong_image.jpg", painted_image(rng, [mask]))
    write_json(broken / "sa_wrong_image.json",
               sa1b_document(7, "sa_wrong_image.jpg", [sa1b_annotation(0, compressed_rle(mask), mask)], width=40))


def label_map(rng, ids, height=HEIGHT, width=WIDTH, dtype=np.uint8):
    """Objects painted in turn over background 0 (later ones cover earlier ones); every id stays visible."""
    while True:
        labels = np.zeros((height, width), dtype=dtype)
        for object_id in ids:
            labels[shape_mask(rng, height, width)] = object_id
        if set(np.unique(labels).tolist()) == {0, *ids}:
            return labels


def davis_palette():
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128]
    return palette + [200] * (768 - len(palette))


def make_davis(rng):
    folder = DATA / "davis"
    images, masks = folder / "JPEGImages", folder / "Annotations"
    items = []

    def add(relative_image, labels, mode, image_format="JPEG"):
        image = painted_image(rng, [labels == i for i in np.unique(labels) if i != 0])
        path = images / relative_image
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path, format=image_format, **({"quality": 75} if image_format == "JPEG" else {}))
        mask_path = (masks / relative_image).with_suffix(".png")
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "P":
            picture = Image.new("P", (labels.shape[1], labels.shape[0]))
            picture.putdata(labels.flatten().tolist())
            picture.putpalette(davis_palette())
        else:
            picture = Image.fromarray(labels)
        picture.save(mask_path)
        assert np.array_equal(np.array(Image.open(mask_path)), labels), mask_path
        assert Image.open(mask_path).mode == {"P": "P", "L": "L", "I;16": "I;16"}[mode]
        items.append((relative_image, labels))

    add("bear/00000.jpg", label_map(rng, [1, 2]), "P")
    add("bear/00001.jpg", label_map(rng, [1, 2, 3]), "P")
    save_jpeg(images / "bear" / "00002.jpg", painted_image(rng, []))  # no mask
    Image.fromarray(label_map(rng, [1])).save(masks / "bear" / "00005.png")  # no image
    add("gray/a.png", label_map(rng, [3, 7, 255]), "L", image_format="PNG")
    add("deep/b.jpeg", label_map(rng, [300, 65535, 2], dtype=np.uint16), "I;16")

    def instances(labels, ignore):
        ids = [int(i) for i in np.unique(labels) if i != 0 and i not in ignore]
        return [{"id": i, "indices": indices(labels == i)} for i in ids]

    items.sort(key=lambda item: item[0])
    expected = {
        "images_without_mask": 1,
        "masks_without_image": 1,
        "items": [{"name": name, "height": HEIGHT, "width": WIDTH, "instances": instances(labels, []),
                   "instances_ignoring_255": instances(labels, [255])} for name, labels in items],
    }
    write_json(folder / "expected.json", expected)

    broken = folder / "broken"
    save_jpeg(broken / "JPEGImages" / "v" / "00000.jpg", painted_image(rng, []))
    (broken / "Annotations" / "v").mkdir(parents=True, exist_ok=True)
    Image.fromarray(label_map(rng, [1], HEIGHT, WIDTH - 2)).save(broken / "Annotations" / "v" / "00000.png")
    save_jpeg(broken / "JPEGImages" / "v" / "00001.jpg", painted_image(rng, []))
    Image.fromarray(painted_image(rng, [])).save(broken / "Annotations" / "v" / "00001.png")  # RGB: no label map


def sav_document(video_id, masklet, height=HEIGHT, width=WIDTH):
    return {"video_id": video_id, "video_duration": 1.0, "video_frame_count": 24, "video_height": height,
            "video_width": width, "video_resolution": height * width, "masklet": masklet,
            "masklet_id": list(range(len(masklet[0]) if masklet and masklet[0] else 0))}


def make_sav(rng):
    folder = DATA / "sav"
    frames, annotations = folder / "JPEGImages_24fps", folder / "annotations"
    # sav_000001: 3 objects over 4 annotated frames; object 1 is absent on frame 1, every object on frame 2
    # (left out), and frame 3 has only object 2. sav_000002: one annotated frame, 2 objects.
    videos = {
        "sav_000001": [[True, True, True], [True, False, True], [False, False, False], [False, False, True]],
        "sav_000002": [[True, True]],
    }
    items = []
    for video_id, presence in videos.items():
        masklet = []
        for k, present in enumerate(presence):
            masks = [shape_mask(rng) if here else None for here in present]
            masklet.append([compressed_rle(m) if m is not None else None for m in masks])
            save_jpeg(frames / video_id / f"{4 * k:05d}.jpg", painted_image(rng, [m for m in masks if m is not None]))
            if any(present):
                items.append({"name": f"{video_id}/{4 * k:05d}.jpg", "height": HEIGHT, "width": WIDTH,
                              "masks": [indices(m) for m in masks if m is not None]})
        write_json(annotations / f"{video_id}_manual.json", sav_document(video_id, masklet))
    write_json(folder / "expected.json", {"videos": len(videos), "items": items})

    broken = folder / "broken"
    mask = shape_mask(rng)
    small = shape_mask(rng, HEIGHT, WIDTH - 8)
    # sav_size: frame 0's second object has another size than the video. sav_missing: frame 4 is not there.
    save_jpeg(broken / "frames" / "sav_size" / "00000.jpg", painted_image(rng, [mask]))
    write_json(broken / "annotations" / "sav_size_manual.json",
               sav_document("sav_size", [[compressed_rle(mask), compressed_rle(small)]]))
    save_jpeg(broken / "frames" / "sav_missing" / "00000.jpg", painted_image(rng, [mask]))
    write_json(broken / "annotations" / "sav_missing_manual.json",
               sav_document("sav_missing", [[compressed_rle(mask)], [compressed_rle(mask)]]))
    (broken / "malformed").mkdir(parents=True, exist_ok=True)
    (broken / "malformed" / "sav_bad_manual.json").write_text('{"video_id": "sav_bad", "masklet": [[{"size": [24,')
    write_json(broken / "wrong_id" / "sav_renamed_manual.json", sav_document("sav_original", [[compressed_rle(mask)]]))


def main():
    for name in ("sa1b", "davis", "sav"):
        shutil.rmtree(DATA / name, ignore_errors=True)
    rng = np.random.default_rng(2024)
    make_sa1b(rng)
    make_davis(rng)
    make_sav(rng)
    total = sum(path.stat().st_size for name in ("sa1b", "davis", "sav") for path in (DATA / name).rglob("*")
                if path.is_file())
    print(f"wrote {DATA}/{{sa1b,davis,sav}} ({total} bytes)")


if __name__ == "__main__":
    main()
