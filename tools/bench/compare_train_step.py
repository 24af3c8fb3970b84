#!/usr/bin/env python3
"""One distillation training step on qatd and, written with the official sam2 code and torch.ao
eager QAT, on PyTorch on this machine: the phases of the step and the peak resident memory.

Both sides: SAM 2 (a preset, random weights) at --size, batch --batch, the image path of
SAM2Base (forward_image, the no-memory image embedding, _forward_sam_heads with multimask output
and one positive click per image); a frozen teacher in eval mode under no_grad; the student with
every Linear and Conv2d weight fake-quantized per output channel, symmetric int8, its scale from
the current min/max; the losses: SAM 2's mask loss on the high-resolution multimasks (focal x20 +
dice + IoU L1 over all masks + object-score BCE, focal and dice on the best of the 3 masks), output
KD (soft-target BCE on the low-resolution mask logits, MSE on the IoUs), a layerwise MSE at one
site, mixed as 0.5 task + 0.5 output KD + layerwise; AdamW (weights lr 1e-5 wd 0.01, 1-D params
wd 0), gradient clipping at norm 1 and a cosine lr schedule. qatd's step also learns the
bitwidths (bit variables, STE, bit penalty, their own clipping and clamp), which torch.ao has no
counterpart for. Each side runs in its own process so that the peak memory is its own.

    tools/setup_torch_env.sh
    .venv-torch/bin/python tools/bench/compare_train_step.py [--threads 2] [--warmup 1] [--steps 3]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHASES = ("data", "teacher_forward", "student_forward", "loss", "backward", "optimizer")

TORCH_SIDE = r"""
import copy, json, math, resource, statistics, sys, time
import torch
import torch.nn.functional as F
import torch.ao.quantization as tq
from sam2.build_sam import build_sam2

preset, size, batch, warmup, steps, threads, kd_site, checkpoint = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7],
    sys.argv[8] or None)
torch.set_num_threads(threads)
torch.manual_seed(0)
config = {"sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
          "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml"}[preset]
build_start = time.perf_counter()
teacher = build_sam2(config, ckpt_path=checkpoint, device="cpu", mode="eval", hydra_overrides_extra=[f"++model.image_size={size}"])
student = copy.deepcopy(teacher)
teacher.eval()
teacher.requires_grad_(False)

# Weight-only fake quant matching qatd's default plan: symmetric int8 per output channel, scale from
# the current min/max (no moving average), no activation fake quant.
weight_fake_quant = tq.FakeQuantize.with_args(observer=tq.PerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                              dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
student.qconfig = tq.QConfig(activation=torch.nn.Identity, weight=weight_fake_quant)
student.train()  # prepare_qat requires training mode
tq.prepare_qat(student, inplace=True)
student.eval()   # as qatd: SAM 2's image path has no dropout or batch norm; FakeQuantize observes in eval too
quantized = sum(isinstance(m, (torch.ao.nn.qat.Linear, torch.ao.nn.qat.Conv2d)) for m in student.modules())

captured = {}
def capture(name):
    def hook(module, inputs, output):
        captured[name] = output
    return hook
teacher.get_submodule(kd_site).register_forward_hook(capture("teacher"))
student.get_submodule(kd_site).register_forward_hook(capture("student"))

weights = [p for p in student.parameters() if p.requires_grad and p.ndim > 1]
biases_norms = [p for p in student.parameters() if p.requires_grad and p.ndim <= 1]
optimizer = torch.optim.AdamW([{"params": weights, "weight_decay": 0.01}, {"params": biases_norms, "weight_decay": 0.0}],
                              lr=1e-5, betas=(0.9, 0.999), eps=1e-8)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: (1 + math.cos(math.pi * min(step, 1000) / 1000)) / 2)
build_s = time.perf_counter() - build_start
rss_after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

def make_batch(seed):
    # Ellipses on a noisy background with one positive click inside, normalized as SAM 2's transforms do.
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    images, masks, points = [], [], []
    for _ in range(batch):
        cx, cy = (0.3 + 0.4 * torch.rand(2, generator=g)) * size
        ax, ay = (0.1 + 0.15 * torch.rand(2, generator=g)) * size
        mask = (((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2 <= 1).float()
        image = 0.2 * torch.rand(3, size, size, generator=g) + 0.6 * mask * torch.rand(3, 1, 1, generator=g)
        mean, std = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
        images.append((image - mean) / std)
        masks.append(mask)
        points.append(torch.stack([cx, cy])[None])
    return torch.stack(images), torch.stack(masks), torch.stack(points), torch.ones(batch, 1, dtype=torch.int32)

def forward_image_path(model, images, coords, labels):
    # SAM2Base's single-image path as qatd's trainer runs it (forward_image, image_features, forward_sam_heads).
    backbone = model.forward_image(images)
    _, vision_feats, _, feat_sizes = model._prepare_backbone_features(backbone)
    vision_feats[-1] = vision_feats[-1] + model.no_mem_embed
    feats = [f.permute(1, 2, 0).view(images.shape[0], -1, *s) for f, s in zip(vision_feats, feat_sizes)]
    out = model._forward_sam_heads(backbone_features=feats[-1], point_inputs={"point_coords": coords, "point_labels": labels},
                                   mask_inputs=None, high_res_features=feats[:-1], multimask_output=True)
    low_res_multimasks, high_res_multimasks, ious, _, _, _, object_score_logits = out
    return low_res_multimasks, high_res_multimasks, ious, object_score_logits

def sam2_mask_loss(masks, ious, object_scores, target):
    # sam2/training/loss_fns.py MultiStepMultiMasksAndIous (one frame, one step), with the shipped
    # weights 20/1/1/1, focal alpha 0.25 gamma 2, supervise_all_iou and iou_use_l1_loss, pred_obj_scores.
    n = max(masks.shape[0], 1)
    y = target[:, None].expand_as(masks)
    p = masks.sigmoid()
    ce = F.binary_cross_entropy_with_logits(masks, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    focal = ((0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2).flatten(2).mean(-1) / n
    p, yf = p.flatten(2), y.flatten(2)
    dice = (1 - (2 * (p * yf).sum(-1) + 1) / (p.sum(-1) + yf.sum(-1) + 1)) / n
    predicted, truth = masks.flatten(2) > 0, yf > 0
    actual = (predicted & truth).sum(-1).float() / (predicted | truth).sum(-1).float().clamp(min=1.0)
    iou = (ious - actual).abs() / n
    target_obj = (target.flatten(1) > 0).any(-1, keepdim=True).float()
    object_loss = F.binary_cross_entropy_with_logits(object_scores, target_obj, reduction="none").sum() / n
    best = torch.argmin(20 * focal + dice, dim=-1, keepdim=True)
    focal = focal.gather(1, best) * target_obj
    dice = dice.gather(1, best) * target_obj
    iou = iou.mean(-1, keepdim=True) * target_obj
    return 20 * focal.sum() + dice.sum() + iou.sum() + object_loss

def output_kd_loss(student_masks, teacher_masks, student_ious, teacher_ious):
    return (F.binary_cross_entropy_with_logits(student_masks, teacher_masks.sigmoid())
            + F.mse_loss(student_ious, teacher_ious))

def step(images, masks, coords, labels, timings):
    mark = time.perf_counter()
    def lap(phase):
        nonlocal mark
        now = time.perf_counter()
        timings[phase] = timings.get(phase, 0.0) + now - mark
        mark = now
    optimizer.zero_grad(set_to_none=True)
    lap("optimizer")
    with torch.no_grad():
        teacher_low, _, teacher_ious, _ = forward_image_path(teacher, images, coords, labels)
    lap("teacher_forward")
    student_low, student_high, student_ious, student_obj = forward_image_path(student, images, coords, labels)
    lap("student_forward")
    task = sam2_mask_loss(student_high, student_ious, student_obj, masks)
    kd_output = output_kd_loss(student_low, teacher_low, student_ious, teacher_ious)
    kd_layer = F.mse_loss(captured["student"], captured["teacher"])
    total = 0.5 * task + 0.5 * kd_output + kd_layer
    value = {"total": total.item(), "task": task.item(), "kd_output": kd_output.item(), "kd_layer": kd_layer.item()}
    lap("loss")
    total.backward()
    lap("backward")
    grads_finite = all(torch.isfinite(p.grad).all() for p in weights + biases_norms if p.grad is not None)
    torch.nn.utils.clip_grad_norm_(weights + biases_norms, 1.0)
    optimizer.step()
    scheduler.step()
    lap("optimizer")
    return value, grads_finite

timed, losses = [], []
for i in range(warmup + steps):
    start = time.perf_counter()
    timings = {}
    batch_data = make_batch(i)
    timings["data"] = time.perf_counter() - start
    value, grads_finite = step(*batch_data, timings)
    timings["total"] = time.perf_counter() - start
    if not (math.isfinite(value["total"]) and grads_finite):
        print(f"step {i + 1}: non-finite loss or gradient", file=sys.stderr)
    losses.append(value)
    if i >= warmup:
        timed.append(timings)
print(json.dumps({"impl": "torch " + torch.__version__, "preset": preset, "size": size, "batch": batch, "threads": threads,
                  "warmup": warmup, "steps": steps, "kd_site": kd_site, "quantized_sites": quantized, "build_s": build_s,
                  "median_ms": {k: 1e3 * statistics.median(t[k] for t in timed) for k in timed[0]},
                  "step_totals_ms": [1e3 * t["total"] for t in timed],
                  "losses_first_step": losses[0], "loss_total_last": losses[-1]["total"],
                  "peak_rss_after_build_mb": rss_after_build,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""

# The official model's random initialization (seed 0) as an official checkpoint, so that both sides
# start from the same weights (same losses up to the data; the same object-score decisions).
WRITE_WEIGHTS = r"""
import sys, torch
from sam2.build_sam import build_sam2
preset, size, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
config = {"sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
          "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml"}[preset]
model = build_sam2(config, ckpt_path=None, device="cpu", mode="eval", hydra_overrides_extra=[f"++model.image_size={size}"])
torch.save({"model": model.state_dict()}, path)
"""


def run(command, env):
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"{command[0]} failed with exit status {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preset", default="sam2.1_hiera_t")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--kd-site", default="image_encoder.trunk.blocks.11")
    parser.add_argument("--own-init", action="store_true",
                        help="each side its own random initialization instead of the official one on both")
    parser.add_argument("--binary", default=str(ROOT / "build" / "tools" / "bench" / "qatd_bench_train_step"))
    parser.add_argument("--json", help="also write both sides' raw results to this file")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    common = [str(args.size), str(args.batch), str(args.warmup), str(args.steps)]
    with tempfile.TemporaryDirectory(prefix="compare_train_step_") as directory:
        checkpoint = ""
        if not args.own_init:
            checkpoint = str(Path(directory) / "random_init.pt")
            subprocess.run([sys.executable, "-c", WRITE_WEIGHTS, args.preset, str(args.size), checkpoint], env=env,
                           check=True)
        ours = run([args.binary, "--preset", args.preset, "--size", common[0], "--batch", common[1], "--warmup",
                    common[2], "--steps", common[3], "--kd-site", args.kd_site, "--checkpoint", checkpoint], env)
        theirs = run([sys.executable, "-c", TORCH_SIDE, args.preset, *common, str(args.threads), args.kd_site,
                      checkpoint], env)
    if args.json:
        Path(args.json).write_text(json.dumps({"qatd": ours, "torch": theirs}, indent=2) + "\n")

    print(f"{args.preset} at {args.size}x{args.size}, batch {args.batch}, {args.threads} threads; median of "
          f"{args.steps} steps after {args.warmup} warm-up; {theirs['impl']}; "
          f"{'own random init per side' if args.own_init else 'the official random init (seed 0) on both'}; "
          f"quantized Linear/Conv2d: "
          f"qatd {ours['quantized_sites']}, PyTorch {theirs['quantized_sites']}")
    print("| phase | qatd ms | PyTorch ms | ratio qatd/PyTorch |")
    print("|---|---:|---:|---:|")
    a, b = ours["median_ms"], theirs["median_ms"]
    for phase in PHASES + ("total",):
        print(f"| {phase} | {a[phase]:.0f} | {b[phase]:.0f} | {a[phase] / b[phase]:.2f} |")
    step_a = sum(a[p] for p in PHASES if p != "data")
    step_b = sum(b[p] for p in PHASES if p != "data")
    print(f"| step without data (sum of medians) | {step_a:.0f} | {step_b:.0f} | {step_a / step_b:.2f} |")
    print(f"| peak RSS MB | {ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} | "
          f"{ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f} |")
    print(f"| peak RSS after building the models MB | {ours['peak_rss_after_build_mb']:.0f} | "
          f"{theirs['peak_rss_after_build_mb']:.0f} | "
          f"{ours['peak_rss_after_build_mb'] / theirs['peak_rss_after_build_mb']:.2f} |")
    for name, side in (("qatd", ours), ("PyTorch", theirs)):
        first = ", ".join(f"{k} {v:.4g}" for k, v in side["losses_first_step"].items())
        print(f"{name} losses at the first step: {first}; loss total at the last step {side['loss_total_last']:.4g}")


if __name__ == "__main__":
    sys.exit(main())
