#!/usr/bin/env python3
"""Writes tests/fixtures/ops/NAME.safetensors: PyTorch's float32 forward and backward for
every case of the engine's op table. tools/op_fixtures/NAME.py defines, case by case, the
same ops as tests/ops/cases_NAME.cpp.

For each case it stores CASE.input.K (the inputs), CASE.output, CASE.grad_output (a random
upstream gradient) and CASE.grad.K (the gradient of every differentiable input).
Run by hand, never in CI:  tools/setup_torch_env.sh && .venv-torch/bin/python tools/make_op_fixtures.py [NAME ...]
(no NAME: every family).
"""
import importlib
import pkgutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "ops"
sys.path.insert(0, str(ROOT / "tools"))

import op_fixtures  # noqa: E402
from op_fixtures import CASES, make_input  # noqa: E402


def load_family(family):
    """Imports tools/op_fixtures/FAMILY.py and returns the names of the cases it defined."""
    before = set(CASES)
    importlib.import_module(f"op_fixtures.{family}")
    return [name for name in CASES if name not in before]

def fixture_tensors(names):
    tensors = {}
    for name in names:
        specs, fn, differentiable = CASES[name]
        generator = torch.Generator().manual_seed(sum(ord(c) * (i + 1) for i, c in enumerate(name)))
        inputs = [make_input(spec, generator) for spec in specs]
        for k, x in enumerate(inputs):
            tensors[f"{name}.input.{k}"] = x.clone()
        for spec, x in zip(specs, inputs):
            if differentiable and spec[4] and x.is_floating_point():
                x.requires_grad_(True)
        output = fn(*inputs)
        tensors[f"{name}.output"] = output.detach().clone()
        if differentiable:
            upstream = torch.randn(output.shape, generator=generator, dtype=torch.float64).to(output.dtype)
            tensors[f"{name}.grad_output"] = upstream
            output.backward(upstream)
            for k, (spec, x) in enumerate(zip(specs, inputs)):
                if spec[4] and x.is_floating_point():
                    grad = x.grad if x.grad is not None else torch.zeros_like(x)
                    tensors[f"{name}.grad.{k}"] = grad.detach().clone()
    return {k: v.contiguous() for k, v in tensors.items()}


def main():
    families = sys.argv[1:] or sorted(m.name for m in pkgutil.iter_modules(op_fixtures.__path__))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for family in families:
        names = load_family(family)
        tensors = fixture_tensors(names)
        out = OUT_DIR / f"{family}.safetensors"
        save_file(tensors, str(out), metadata={"torch": torch.__version__, "cases": ",".join(names)})
        print(f"{family}: {len(names)} cases ({len(tensors)} tensors) -> {out.relative_to(ROOT)} (torch {torch.__version__})")


if __name__ == "__main__":
    sys.exit(main())
