#!/usr/bin/env python3
"""Frames per second of tracking one object with SAM 2 (random weights) on qatd and on the
official SAM2VideoPredictor (PyTorch) on this machine, same thread count. The video is a real
photo (tests/fixtures/sam2_micro_a/image.png) panned over N frames, written as JPEGs; both
sides load it from that folder, prompt one click on frame 0 and time propagate_in_video.

    tools/setup_torch_env.sh
    .venv-torch/bin/python tools/bench/compare_sam2_video.py [--threads N] [--frames 8] [--preset sam2.1_hiera_t]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

TORCH_SIDE = r"""
import json, resource, sys, time
import torch
from sam2.build_sam import build_sam2_video_predictor
frames, preset, threads, x, y = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
predictor = build_sam2_video_predictor(f"configs/sam2.1/{preset}.yaml", ckpt_path=None, device="cpu")
with torch.inference_mode():
    state = predictor.init_state(frames)
    predictor.add_new_points_or_box(state, frame_idx=0, obj_id=1, points=[[x, y]], labels=[1])
    start = time.perf_counter()
    count = sum(1 for _ in predictor.propagate_in_video(state))
    seconds = time.perf_counter() - start
print(json.dumps({"frames": count, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def write_frames(directory, count):
    image = Image.open(ROOT / "tests" / "fixtures" / "sam2_micro_a" / "image.png").convert("RGB")
    width, height = image.size
    for t in range(count):
        shift = int(t * width * 0.02)
        frame = np.roll(np.asarray(image), shift, axis=1)
        Image.fromarray(frame).save(Path(directory) / f"{t:05d}.jpg", quality=95)
    return width, height


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--preset", default="sam2.1_hiera_t")
    parser.add_argument("--qatd", default=str(ROOT / "build" / "tools" / "qatd" / "qatd"))
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as scratch:
        frames = Path(scratch) / "frames"
        frames.mkdir()
        width, height = write_frames(frames, args.frames)
        x, y = width * 0.45, height * 0.55
        prompts = Path(scratch) / "prompts.json"
        prompts.write_text(json.dumps([{"frame": 0, "obj_id": 1, "points": [[x, y]], "labels": [1]}]))
        checkpoint = Path(scratch) / "model.safetensors"
        subprocess.run([args.qatd, "init", "--model-config", args.preset, "--seed", "0", "--out", str(checkpoint)],
                       env=env, check=True, capture_output=True)
        ours = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb=%M", args.qatd, "track", "--model-config",
                               args.preset, "--checkpoint", str(checkpoint), "--frames", str(frames), "--prompts",
                               str(prompts)], env=env, check=True, capture_output=True, text=True)
        match = re.search(r"over (\d+) frames in ([0-9.]+) s", ours.stdout)
        our_frames, our_seconds = int(match.group(1)), float(match.group(2))
        our_rss = int(re.search(r"peak_rss_kb=(\d+)", ours.stderr).group(1)) / 1024.0
        theirs = json.loads(subprocess.run([sys.executable, "-c", TORCH_SIDE, str(frames), args.preset,
                                            str(args.threads), str(x), str(y)], env=env, check=True,
                                           capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"{args.preset}, one object, {args.frames} frames of {width}x{height} (model input 1024), "
          f"{args.threads} threads; propagate_in_video only")
    print("| implementation | frames/s | s per frame | peak RSS MB |")
    print("|---|---:|---:|---:|")
    print(f"| qatd | {our_frames / our_seconds:.3f} | {our_seconds / our_frames:.2f} | {our_rss:.0f} |")
    print(f"| official (PyTorch) | {theirs['frames'] / theirs['seconds']:.3f} | "
          f"{theirs['seconds'] / theirs['frames']:.2f} | {theirs['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
