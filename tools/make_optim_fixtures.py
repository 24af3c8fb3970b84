#!/usr/bin/env python3
"""Writes tests/fixtures/optim_torch.safetensors: what torch.optim does, for tests/engine/test_optim.cpp
and tests/engine/test_lr_scheduler.cpp to replay.

Contents (every tensor float64; runs in float32 store float32 results converted exactly):
  init.K              the starting value of parameter K (shapes in SHAPES)
  grad.S.K            the gradient of parameter K at step S (S < STEPS); parameter 1 has no gradient
                      at step SKIPPED_STEP (its .grad is None), to check that such parameters are skipped
  CONFIG.DTYPE.S.K    parameter K after step S of optimizer configuration CONFIG (see CONFIGS), run in
                      DTYPE (f32 or f64) with foreach=False
  clip.NAME.total     total norm returned by clip_grad_norm_ (clip_value: absent)
  clip.NAME.grad.K    the step-0 gradients after clipping, in float32
  lr.NAME             (LR_STEPS + 1, 2): each group's lr after construction and after each scheduler step

Run by hand, never in CI:  tools/setup_torch_env.sh && .venv-torch/bin/python tools/make_optim_fixtures.py
"""
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "optim_torch.safetensors"

SHAPES = [(9, 13), (7,), (3, 4, 5)]
STEPS = 5
SKIPPED_STEP = 2
GRAD_SCALES = [1.0, 0.5, 2.0, 0.1, 1.0]
LR_STEPS = 25
LR_BASES = [0.1, 0.02]

# Each configuration: (optimizer class, [(parameter indices, group options)], per-group max_grad_norm).
# The C++ test builds the same groups with the same options.
CONFIGS = {
    "sgd_plain": (torch.optim.SGD, [([0, 1, 2], dict(lr=0.1))]),
    "sgd_momentum_dampening": (torch.optim.SGD, [([0, 1, 2], dict(lr=0.05, momentum=0.9, dampening=0.1))]),
    "sgd_nesterov_weight_decay": (
        torch.optim.SGD, [([0, 1, 2], dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01))]),
    "sgd_groups_maximize": (
        torch.optim.SGD, [([0], dict(lr=0.1)), ([1, 2], dict(lr=0.01, momentum=0.5, maximize=True))]),
    "adam_plain": (torch.optim.Adam, [([0, 1, 2], dict(lr=1e-2))]),
    "adam_weight_decay": (torch.optim.Adam, [([0, 1, 2], dict(lr=1e-2, weight_decay=0.1))]),
    "adam_amsgrad": (torch.optim.Adam, [([0, 1, 2], dict(lr=1e-2, betas=(0.8, 0.95), amsgrad=True))]),
    "adam_low_beta1_maximize": (torch.optim.Adam, [([0, 1, 2], dict(lr=1e-2, betas=(0.3, 0.9), maximize=True))]),
    "adam_groups": (
        torch.optim.Adam, [([0, 2], dict(lr=1e-2)), ([1], dict(lr=3e-3, eps=1e-6, weight_decay=0.05))]),
    "adamw": (torch.optim.AdamW, [([0, 1, 2], dict(lr=1e-2, weight_decay=0.01))]),
    "adamw_groups_amsgrad_clip": (
        torch.optim.AdamW,
        [([0, 1], dict(lr=1e-2, weight_decay=0.01, amsgrad=True, max_grad_norm=0.5)), ([2], dict(lr=5e-3))]),
}

CLIPS = {
    "norm2": dict(max_norm=1.0, norm_type=2.0),
    "norm2_unclipped": dict(max_norm=1e3, norm_type=2.0),
    "norm_inf": dict(max_norm=0.5, norm_type=math.inf),
    "value": dict(clip_value=0.3),
}


def cosine_warmup_lr(step, base_lr, warmup=5, total=20, min_lr=1e-3, start_factor=0.0):
    """The formula documented in engine/optim/lr_scheduler.h (CosineWarmupLR)."""
    if step < warmup:
        return base_lr * (start_factor + (1.0 - start_factor) * step / warmup)
    if step >= total:
        return min_lr
    progress = (step - warmup) / (total - warmup)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


SCHEDULERS = {
    "step": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    "linear": lambda opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=6),
    "cosine_warmup": lambda opt: torch.optim.lr_scheduler.LambdaLR(
        opt, [lambda s, b=b: cosine_warmup_lr(s, b) / b for b in LR_BASES]),
}


def run_config(tensors, name, optimizer_class, groups, inits, grads, dtype, tag):
    params = [x.to(dtype).clone().requires_grad_(True) for x in inits]
    clips = []
    torch_groups = []
    for indices, options in groups:
        options = dict(options)
        clips.append(options.pop("max_grad_norm", None))
        torch_groups.append(dict(params=[params[k] for k in indices], **options))
    optimizer = optimizer_class(torch_groups, foreach=False)
    for step in range(STEPS):
        for k, p in enumerate(params):
            p.grad = None if (k == 1 and step == SKIPPED_STEP) else grads[step][k].to(dtype).clone()
        for (indices, _), max_norm in zip(groups, clips):
            if max_norm is not None:
                torch.nn.utils.clip_grad_norm_([params[k] for k in indices], max_norm, foreach=False)
        optimizer.step()
        for k, p in enumerate(params):
            tensors[f"{name}.{tag}.{step}.{k}"] = p.detach().to(torch.float64).clone()


def main():
    generator = torch.Generator().manual_seed(20240611)
    tensors = {}
    inits = [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in SHAPES]
    grads = [[torch.randn(shape, generator=generator, dtype=torch.float64) * GRAD_SCALES[s] for shape in SHAPES]
             for s in range(STEPS)]
    for k, x in enumerate(inits):
        tensors[f"init.{k}"] = x
    for s in range(STEPS):
        for k in range(len(SHAPES)):
            tensors[f"grad.{s}.{k}"] = grads[s][k]

    for name, (optimizer_class, groups) in CONFIGS.items():
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            run_config(tensors, name, optimizer_class, groups, inits, grads, dtype, tag)

    for name, settings in CLIPS.items():
        params = [x.to(torch.float32).clone().requires_grad_(True) for x in inits]
        for p, g in zip(params, grads[0]):
            p.grad = g.to(torch.float32).clone()
        if "clip_value" in settings:
            torch.nn.utils.clip_grad_value_(params, settings["clip_value"], foreach=False)
        else:
            total = torch.nn.utils.clip_grad_norm_(params, settings["max_norm"], settings["norm_type"], foreach=False)
            tensors[f"clip.{name}.total"] = total.detach().to(torch.float64).reshape(1)
        for k, p in enumerate(params):
            tensors[f"clip.{name}.grad.{k}"] = p.grad.to(torch.float64)

    for name, make in SCHEDULERS.items():
        params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
        optimizer = torch.optim.SGD(
            [dict(params=[params[0]], lr=LR_BASES[0]), dict(params=[params[1]], lr=LR_BASES[1])])
        scheduler = make(optimizer)
        lrs = [list(scheduler.get_last_lr())]
        for _ in range(LR_STEPS):
            optimizer.step()
            scheduler.step()
            lrs.append(list(scheduler.get_last_lr()))
        tensors[f"lr.{name}"] = torch.tensor(lrs, dtype=torch.float64)

    tensors = {k: v.contiguous() for k, v in tensors.items()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT), metadata={"torch": torch.__version__})
    print(f"{len(tensors)} tensors -> {OUT.relative_to(ROOT)} (torch {torch.__version__})")


if __name__ == "__main__":
    sys.exit(main())
