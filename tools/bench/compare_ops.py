#!/usr/bin/env python3
"""Times the ops of tools/bench/bench_ops.cpp in PyTorch and in qatd on this machine with the
same number of threads, and prints one table with the ratio.

    tools/setup_torch_env.sh
    .venv-torch/bin/python tools/bench/compare_ops.py [--threads N] [--binary build/tools/bench/qatd_bench_ops]

PyTorch times are medians of timed repetitions after warm-up (forward under no_grad;
forward+backward with an all-ones upstream gradient, as the C++ side does).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_timing import time_call

ROOT = Path(__file__).resolve().parents[2]


def torch_ops(torch, F):
    return {
        "matmul_1024": ([(1024, 1024), (1024, 1024)], lambda a, b: a @ b),
        "linear_65536x96_to_384": ([(65536, 96), (384, 96), (384,)], F.linear),
        "linear_4096x384_to_1536": ([(4096, 384), (1536, 384), (1536,)], F.linear),
        "conv2d_patch_embed_7x7s4_3to96_1024": ([(1, 3, 1024, 1024), (96, 3, 7, 7), (96,)],
                                                lambda x, w, b: F.conv2d(x, w, b, stride=4, padding=3)),
        "conv2d_1x1_256_64x64": ([(1, 256, 64, 64), (256, 256, 1, 1), (256,)], F.conv2d),
        "conv2d_depthwise_7x7_256_64x64": ([(1, 256, 64, 64), (256, 1, 7, 7), (256,)],
                                           lambda x, w, b: F.conv2d(x, w, b, padding=3, groups=256)),
        "layer_norm_65536x96": ([(65536, 96), (96,), (96,)], lambda x, w, b: F.layer_norm(x, (96,), w, b)),
        "layer_norm_4096x384": ([(4096, 384), (384,), (384,)], lambda x, w, b: F.layer_norm(x, (384,), w, b)),
        "softmax_16x1024x1024": ([(16, 1024, 1024)], lambda x: torch.softmax(x, -1)),
        "attention_global_4h_4096x96": ([(1, 4, 4096, 96)] * 3, F.scaled_dot_product_attention),
        "attention_windowed_256w_64x96": ([(256, 1, 64, 96)] * 3, F.scaled_dot_product_attention),
    }


def run_torch(threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    results = {}
    for name, (shapes, op) in torch_ops(torch, F).items():
        generator = torch.Generator().manual_seed(0)
        inputs = [torch.randn(s, generator=generator) * 0.5 for s in shapes]
        with torch.no_grad():
            results[(name, "forward")] = time_call(lambda: op(*inputs))
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        upstream = torch.ones_like(op(*leaves))

        def step():
            for x in leaves:
                x.grad = None
            op(*leaves).backward(upstream)

        results[(name, "forward_backward")] = time_call(step)
    return results, torch.__version__


def run_qatd(binary, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    output = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=1"], env=env, check=True,
                            capture_output=True, text=True).stdout
    report = json.loads(output[output.index("{"):])
    results = {}
    for entry in report["benchmarks"]:
        name, phase = entry["name"].split("/")[:2]
        results[(name, phase)] = entry["real_time"]  # milliseconds (the benchmarks' unit)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--binary", default=str(ROOT / "build" / "tools" / "bench" / "qatd_bench_ops"))
    args = parser.parse_args()
    qatd = run_qatd(args.binary, args.threads)
    torch_results, torch_version = run_torch(args.threads)
    print(f"{args.threads} threads; PyTorch {torch_version}; times are medians in ms")
    print(f"| op | phase | qatd ms | PyTorch ms | qatd / PyTorch time |")
    print(f"|---|---|---:|---:|---:|")
    for key in sorted(torch_results, key=lambda k: list(torch_results).index(k)):
        ours, theirs = qatd.get(key), torch_results[key]
        ratio = f"{ours / theirs:.2f}" if ours else "n/a"
        ours_text = f"{ours:.2f}" if ours else "missing"
        print(f"| {key[0]} | {key[1]} | {ours_text} | {theirs:.2f} | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
