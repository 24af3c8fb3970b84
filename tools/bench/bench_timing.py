"""Timing shared by the PyTorch sides of the comparison scripts."""
import statistics
import time


def time_call(fn, min_seconds=1.0, warmup=2):
    """Median milliseconds of fn() over at least 5 calls and min_seconds, after warm-up calls."""
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3
