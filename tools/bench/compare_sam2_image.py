#!/usr/bin/env python3
"""The SAM 2 image path on qatd and on the official sam2 package (PyTorch) on this machine:
forward, and forward+backward of the same scalar loss, at 1024 and 512, batch 1, same thread
count, random weights. Each configuration runs in its own process so that the peak resident
memory is its own.

    tools/setup_torch_env.sh
    .venv-torch/bin/python tools/bench/compare_sam2_image.py [--threads N] [--preset sam2.1_hiera_t]
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TORCH_SIDE = r"""
import json, resource, statistics, sys, time
import torch
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from sam2.build_sam import build_sam2
preset, size, mode, iterations, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
config = {"sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
          "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml"}[preset]
model = build_sam2(config, ckpt_path=None, device="cpu", mode="eval", hydra_overrides_extra=[f"++model.image_size={size}"])
backward = mode == "forward_backward"
model.requires_grad_(backward)
image = torch.randn(1, 3, size, size)
points = torch.tensor([[[0.3 * size, 0.4 * size], [0.6 * size, 0.5 * size]]])
labels = torch.tensor([[1, 0]], dtype=torch.int)
def step():
    with torch.set_grad_enabled(backward):
        backbone = model.forward_image(image)
        _, feats, _, _ = model._prepare_backbone_features(backbone)
        feats[-1] = feats[-1] + model.no_mem_embed
        sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
        feats = [f.permute(1, 2, 0).view(1, -1, *s) for f, s in zip(feats, sizes)]
        sparse, dense = model.sam_prompt_encoder(points=(points, labels), boxes=None, masks=None)
        masks, iou, _, obj = model.sam_mask_decoder(image_embeddings=feats[-1], image_pe=model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=True, repeat_image=False,
            high_res_features=feats[:-1])
        if backward:
            model.zero_grad(set_to_none=True)
            (masks.sum() + iou.sum() + obj.sum()).backward()
times = []
for i in range(iterations + 1):
    start = time.perf_counter(); step(); elapsed = (time.perf_counter() - start) * 1e3
    if i > 0: times.append(elapsed)
print(json.dumps({"impl": "torch " + torch.__version__, "preset": preset, "size": size, "mode": mode, "threads": threads,
                  "median_ms": round(statistics.median(times), 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))
"""


def run(command, env):
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--preset", default="sam2.1_hiera_t")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--binary", default=str(ROOT / "build" / "tools" / "bench" / "qatd_bench_sam2_image"))
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    print(f"{args.preset}, batch 1, {args.threads} threads; median of {args.iterations} runs after one warm-up")
    print("| size | phase | qatd ms | PyTorch ms | time ratio qatd/PyTorch | qatd peak RSS MB | PyTorch peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size in (1024, 512):
        for mode in ("forward", "forward_backward"):
            ours = run([args.binary, "--preset", args.preset, "--size", str(size), "--mode", mode,
                        "--iterations", str(args.iterations)], env)
            theirs = run([sys.executable, "-c", TORCH_SIDE, args.preset, str(size), mode, str(args.iterations),
                          str(args.threads)], env)
            print(f"| {size} | {mode} | {ours['median_ms']:.0f} | {theirs['median_ms']:.0f} | "
                  f"{ours['median_ms'] / theirs['median_ms']:.2f} | {ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
