#!/usr/bin/env python3
"""Writes tests/fixtures/train/mask_losses.safetensors: the OFFICIAL SAM 2 training loss
(facebookresearch/sam2 training/loss_fns.py, MultiStepMultiMasksAndIous) on small random inputs,
with the gradients of core_loss with respect to every prediction.

The official file is read from a git mirror of the repository (`git show REV:training/loss_fns.py`)
into a temporary directory, never copied into this repo. It imports training.trainer only for
CORE_LOSS_KEY (the trainer itself needs hydra, iopath and the data pipeline), so a stub module
provides that one constant, read from the same revision's trainer.py; training/utils/distributed.py
is the official file (only torch and the standard library).

Key layout, per case CASE (see CASES below; the C++ test mirrors the options):
  CASE.target                   [T, N, H, W] float32 ground truth (0/1)
  CASE.f{t}.s{k}.masks|ious|object_scores   the predictions of frame t, step k
  CASE.loss_mask|loss_dice|loss_iou|loss_class|core_loss   scalars
  CASE.f{t}.s{k}.grad.masks|ious|object_scores             d core_loss / d prediction
Run by hand:  .venv-torch/bin/python tools/make_loss_fixtures.py [--repo /work/.mirror/facebookresearch+sam2/repo]
"""
import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "train" / "mask_losses.safetensors"
DEFAULT_REPO = "/work/.mirror/facebookresearch+sam2/repo"

SHIPPED = dict(  # sam2.1_hiera_b+_MOSE_finetune.yaml
    weight_dict={"loss_mask": 20, "loss_dice": 1, "loss_iou": 1, "loss_class": 1},
    supervise_all_iou=True, iou_use_l1_loss=True, pred_obj_scores=True,
    focal_gamma_obj_score=0.0, focal_alpha_obj_score=-1.0)

# name: (frames T, objects N, masks M, steps, H, W, which objects are empty, loss options)
CASES = {
    "multimask": (2, 3, 3, 2, 8, 8, [1], SHIPPED),
    "single_mask": (1, 3, 1, 3, 8, 8, [2], SHIPPED),
    "multimask_no_objects": (1, 2, 3, 1, 8, 8, [0, 1], SHIPPED),
    "single_mask_no_objects": (1, 2, 1, 2, 6, 10, [0, 1], SHIPPED),
    "multimask_best_iou_mse": (1, 3, 3, 2, 8, 8, [0],
                               dict(SHIPPED, supervise_all_iou=False, iou_use_l1_loss=False)),
    "no_object_scores": (1, 2, 3, 1, 8, 8, [1], dict(SHIPPED, pred_obj_scores=False)),
    "plain_bce": (1, 3, 3, 1, 8, 8, [1], dict(SHIPPED, focal_alpha=-1.0, focal_gamma=0.0)),
    "class_defaults_weights": (1, 2, 3, 2, 8, 8, [],
                               dict(weight_dict={"loss_mask": 5, "loss_dice": 2, "loss_iou": 0.5, "loss_class": 3},
                                    focal_alpha=0.4, focal_gamma=1.5, pred_obj_scores=True,
                                    focal_alpha_obj_score=0.3, focal_gamma_obj_score=2.0)),
}


def load_official(repo, revision):
    """Imports training.loss_fns from `revision` of the mirror, from a temporary directory."""
    def show(path):
        return subprocess.run(["git", "--git-dir", repo, "show", f"{revision}:{path}"], check=True,
                              capture_output=True, text=True).stdout
    work = Path(tempfile.mkdtemp(prefix="sam2_loss_fns_"))
    (work / "training" / "utils").mkdir(parents=True)
    (work / "training" / "__init__.py").write_text("")
    (work / "training" / "utils" / "__init__.py").write_text("")
    (work / "training" / "loss_fns.py").write_text(show("training/loss_fns.py"))
    (work / "training" / "utils" / "distributed.py").write_text(show("training/utils/distributed.py"))
    key = re.search(r'^CORE_LOSS_KEY\s*=\s*"([^"]+)"', show("training/trainer.py"), re.M).group(1)
    trainer = types.ModuleType("training.trainer")
    trainer.CORE_LOSS_KEY = key
    sys.modules["training.trainer"] = trainer
    sys.path.insert(0, str(work))
    return importlib.import_module("training.loss_fns"), key


def random_targets(generator, frames, objects, height, width, empty):
    """Blob-like binary masks (a thresholded smooth field) so IoUs are neither 0 nor 1; listed objects empty."""
    field = torch.randn(frames, objects, height // 2, width // 2, generator=generator)
    field = torch.nn.functional.interpolate(field, size=(height, width), mode="bilinear", align_corners=False)
    target = (field > 0.2).float()
    for n in empty:
        target[:, n] = 0
    for t in range(frames):
        for n in range(objects):
            if n not in empty and target[t, n].sum() == 0:
                target[t, n, height // 2, width // 2] = 1
    return target


def best_mask_margin(loss_fns, loss, outs_batch, target):
    """The smallest gap between the best and second-best focal+dice combination: a near tie would let a
    float32 rounding difference pick another mask, so the fixture must keep clear of it."""
    margin = float("inf")
    weights = loss.weight_dict
    with torch.no_grad():
        for out, frame_target in zip(outs_batch, target):
            for logits in out["multistep_pred_multimasks_high_res"]:
                if logits.shape[1] < 2:
                    continue
                expanded = frame_target.unsqueeze(1).expand_as(logits)
                combo = weights["loss_mask"] * loss_fns.sigmoid_focal_loss(
                    logits, expanded, 1, loss.focal_alpha, loss.focal_gamma, loss_on_multimask=True) + \
                    weights["loss_dice"] * loss_fns.dice_loss(logits, expanded, 1, loss_on_multimask=True)
                ordered = combo.sort(dim=-1).values
                margin = min(margin, (ordered[:, 1] - ordered[:, 0]).min().item())
    return margin


def make_case(loss_fns, core_key, name, spec, tensors):
    frames, objects, masks, steps, height, width, empty, options = spec
    generator = torch.Generator().manual_seed(sum(ord(c) * (i + 1) for i, c in enumerate(name)))
    target = random_targets(generator, frames, objects, height, width, empty)
    tensors[f"{name}.target"] = target
    outs_batch, leaves = [], []
    for t in range(frames):
        out = {"multistep_pred_multimasks_high_res": [], "multistep_pred_ious": [],
               "multistep_object_score_logits": []}
        for k in range(steps):
            # Logits that agree with the target more than chance, so the best mask and IoUs vary.
            logits = 3.0 * torch.randn(objects, masks, height, width, generator=generator) + \
                2.0 * (2 * target[t][:, None] - 1)
            ious = torch.rand(objects, masks, generator=generator)
            scores = 2.0 * torch.randn(objects, 1, generator=generator)
            for key, value in (("masks", logits), ("ious", ious), ("object_scores", scores)):
                value.requires_grad_(True)
                tensors[f"{name}.f{t}.s{k}.{key}"] = value.detach().clone()
                leaves.append((f"{name}.f{t}.s{k}.grad.{key}", value))
            out["multistep_pred_multimasks_high_res"].append(logits)
            out["multistep_pred_ious"].append(ious)
            out["multistep_object_score_logits"].append(scores)
        outs_batch.append(out)
    loss = loss_fns.MultiStepMultiMasksAndIous(**{k: (dict(v) if isinstance(v, dict) else v)
                                                  for k, v in options.items()})
    losses = loss(outs_batch, target)
    for key in ("loss_mask", "loss_dice", "loss_iou", "loss_class"):
        tensors[f"{name}.{key}"] = torch.as_tensor(losses[key], dtype=torch.float32).detach().clone().reshape(())
    tensors[f"{name}.core_loss"] = losses[core_key].detach().clone().reshape(())
    losses[core_key].backward()
    for key, leaf in leaves:
        tensors[key] = (leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)).detach().clone()
    parts = ", ".join(f"{key} {float(torch.as_tensor(losses[key]).detach()):.5f}"
                      for key in ("loss_mask", "loss_dice", "loss_iou", "loss_class"))
    print(f"{name}: {core_key} {losses[core_key].item():.6f} ({parts}); smallest best-mask margin "
          f"{best_mask_margin(loss_fns, loss, outs_batch, target):.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=DEFAULT_REPO, help="a git mirror of facebookresearch/sam2")
    parser.add_argument("--revision", default="HEAD")
    args = parser.parse_args()
    loss_fns, core_key = load_official(args.repo, args.revision)
    commit = subprocess.run(["git", "--git-dir", args.repo, "rev-parse", args.revision], capture_output=True,
                            text=True).stdout.strip()
    tensors = {}
    for name, spec in CASES.items():
        make_case(loss_fns, core_key, name, spec, tensors)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT),
              metadata={"source": "facebookresearch/sam2 training/loss_fns.py", "commit": commit or args.revision})
    print(f"wrote {OUT} ({len(tensors)} tensors)")


if __name__ == "__main__":
    main()
