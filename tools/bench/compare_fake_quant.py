#!/usr/bin/env python3
"""Times fake quantization of a 64x256x256 float32 tensor in qatd (tools/bench/bench_fake_quant.cpp)
and in PyTorch with the same number of threads, next to the memory bandwidth the qatd binary
measures (STREAM-like copy and triad), and prints one table.

    tools/setup_torch_env.sh
    .venv-torch/bin/python tools/bench/compare_fake_quant.py [--threads 2] [--repeats 3] \
        [--min-time 1] [--binary build/tools/bench/qatd_bench_fake_quant]

PyTorch ops: fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine (axis 0) for the
observed rows (a fixed scale, as qatd's op takes a fixed range), and
_fake_quantize_learnable_per_tensor_affine / _per_channel_affine for the learned (LSQ) rows, with
gradients to x, scale and zero point; 8 bits, signed symmetric ([-127, 127]). PyTorch has no
bitwidth gradient: its forward+backward rows stand next to qatd's ste rows. Times are medians of
timed repetitions after warm-up, then the median over --repeats runs of both sides. GB/s counts
the bytes a pass must move (forward: read x, write y = 2 x 4N; forward+backward: 5 x 4N).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench_timing import time_call

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (64, 256, 256)
NUMEL = SHAPE[0] * SHAPE[1] * SHAPE[2]
BYTES = {"forward": 2 * 4 * NUMEL, "forward_backward": 5 * 4 * NUMEL}
QMIN, QMAX = -127, 127


def torch_cases(torch):
    """name -> make(x) -> (inputs, op): op(*inputs) fake-quantizes inputs[0]."""
    grad_factor_tensor = 1.0 / (NUMEL * QMAX) ** 0.5
    grad_factor_channel = 1.0 / (NUMEL // SHAPE[0] * QMAX) ** 0.5
    initial_step = 2 * 0.8 / QMAX ** 0.5  # LSQ's 2 mean|x| / sqrt(Q_P) for x ~ N(0, 1), as the C++ side uses

    def observed_per_tensor(x):
        scale = float(x.abs().max()) / QMAX
        return [x], lambda x: torch.fake_quantize_per_tensor_affine(x, scale, 0, QMIN, QMAX)

    def observed_per_channel(x):
        scale, zero_point = x.abs().amax(dim=(1, 2)) / QMAX, torch.zeros(SHAPE[0], dtype=torch.int32)
        return [x], lambda x: torch.fake_quantize_per_channel_affine(x, scale, zero_point, 0, QMIN, QMAX)

    def learned_per_tensor(x):
        return ([x, torch.tensor([initial_step]), torch.zeros(1)],
                lambda x, s, z: torch._fake_quantize_learnable_per_tensor_affine(x, s, z, QMIN, QMAX,
                                                                                 grad_factor_tensor))

    def learned_per_channel(x):
        return ([x, torch.full((SHAPE[0],), initial_step), torch.zeros(SHAPE[0])],
                lambda x, s, z: torch._fake_quantize_learnable_per_channel_affine(x, s, z, 0, QMIN, QMAX,
                                                                                  grad_factor_channel))

    return {
        "fake_quant_observed_per_tensor": observed_per_tensor,
        "fake_quant_observed_per_channel": observed_per_channel,
        "fake_quant_learned_per_tensor": learned_per_tensor,
        "fake_quant_learned_per_channel": learned_per_channel,
    }


def run_torch(threads, min_seconds):
    import torch

    torch.set_num_threads(threads)
    results = {}
    for name, make in torch_cases(torch).items():
        x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
        inputs, op = make(x)
        with torch.no_grad():
            results[(name, "forward")] = time_call(lambda: op(*inputs), min_seconds)
        leaves = [t.clone().requires_grad_(True) for t in inputs]
        upstream = torch.ones_like(x)

        def step():
            for t in leaves:
                t.grad = None
            op(*leaves).backward(upstream)

        results[(name, "forward_backward")] = time_call(step, min_seconds)
    return results, torch.__version__


def run_qatd(binary, threads, min_seconds):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    command = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_seconds}"]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    report = json.loads(output[output.index("{"):])
    results = {}
    for entry in report["benchmarks"]:
        name, phase = entry["name"].split("/")[:2]
        results[(name, phase)] = (entry["real_time"], entry["GB/s"])  # ms (the benchmarks' unit), GB/s
    return results


def medians(runs):
    return {key: tuple(statistics.median(run[key][i] for run in runs) for i in range(len(runs[0][key])))
            for key in runs[0]}


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=1, help="runs of both sides; the table shows medians")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed repetitions per case")
    parser.add_argument("--binary", default=str(ROOT / "build" / "tools" / "bench" / "qatd_bench_fake_quant"))
    args = parser.parse_args()
    print(f"load before: {uptime()}")
    qatd_runs, torch_runs = [], []
    for _ in range(args.repeats):
        qatd_runs.append(run_qatd(args.binary, args.threads, args.min_time))
        torch_result, torch_version = run_torch(args.threads, args.min_time)
        torch_runs.append({key: (ms,) for key, ms in torch_result.items()})
    print(f"load after:  {uptime()}")
    qatd, theirs = medians(qatd_runs), medians(torch_runs)
    copy_ms, copy_gbs = qatd[("memory_bandwidth", "copy")]
    triad_ms, triad_gbs = qatd[("memory_bandwidth", "triad")]
    print(f"{args.threads} threads; PyTorch {torch_version}; {args.repeats} run(s), medians; x: "
          f"{'x'.join(map(str, SHAPE))} float32 ({NUMEL * 4 / 2**20:.0f} MiB)")
    print(f"memory bandwidth (same binary, arrays of {NUMEL} floats): copy {copy_gbs:.1f} GB/s ({copy_ms:.2f} ms), "
          f"triad {triad_gbs:.1f} GB/s ({triad_ms:.2f} ms)")
    print("| case | phase | bytes moved | qatd ms | qatd GB/s | % of copy | PyTorch ms | PyTorch GB/s | "
          "qatd / PyTorch time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, phase), (ms, gbs) in qatd.items():
        if name == "memory_bandwidth":
            continue
        torch_phase = "forward_backward" if phase.startswith("forward_backward") else phase
        bytes_moved = BYTES[torch_phase]
        torch_ms = theirs.get((name, torch_phase), (None,))[0] if phase in ("forward", "forward_backward_ste") else None
        torch_text = f"{torch_ms:.2f} | {bytes_moved / torch_ms * 1e-6:.1f} | {ms / torch_ms:.2f}" if torch_ms \
            else "- | - | -"
        print(f"| {name.removeprefix('fake_quant_')} | {phase} | {bytes_moved / 2**20:.0f} MiB | {ms:.2f} | "
              f"{gbs:.1f} | {100 * gbs / copy_gbs:.0f}% | {torch_text} |")


if __name__ == "__main__":
    sys.exit(main())
