#!/usr/bin/env python3
"""Writes tests/fixtures/sam2_micro_a/video_scenarios.safetensors: what the official SAM2VideoPredictor
computes on the micro SAM 2.1 model (tests/fixtures/sam2_micro_a) for interaction scenarios beyond the
reference's single one, for tests/models/test_sam2_video_scenarios.cpp.

The predictor is built as sam2.build_sam.build_sam2_video_predictor builds it: meta.json's "model" block
(official field names, the builder's overrides included) with the `_target_` classes of the official
sam2.1 YAML and SAM2VideoPredictor as the top-level class, instantiated by hydra; then model.pt loaded
strictly, eval mode, float32, CPU. init_state reads the .jpg files of frames/ (4 frames, 256x256).
Before the scenarios, the reference's own scenario is replayed and checked against video_io.safetensors,
which proves this build is the one the reference used.

Scenarios (prompts in video pixels; every call and its order is in the function of the same name):
  a  refinement on a later frame: points for object 1 on frame 0, propagate; a click on frame 2 (its
     tracked logits become the mask prompt, one point: multimask), a second click with
     clear_old_points=False (two points: single mask with the stability fallback), the preflight
     (memory of the corrected frame, from its binarized mask: step "pre"), propagate from frame 3
     (attends to the corrected frame), then from the start (frame 2 is tracked again: a correction on
     a non-conditioning frame does not survive a propagation over it, in the official predictor).
  b  reverse tracking: a box for object 1 on frame 3 only, propagate with reverse=True; a correction
     click on frame 1 (tracked in reverse: its track step runs reversed), propagate in reverse again.
  c  mask prompts: an ellipse of the video's size for object 1 (used as the output without SAM), an
     ellipse of another size (384x320) for object 2 (antialiased resize to the model's size, then
     >= 0.5), both on frame 0, and a second mask for object 2 on frame 2 (two conditioning frames, the
     later one excluded from the pointers of earlier frames), propagate.
  d  an absent object: points for object 1 and an all-zero mask for object 2 on frame 0 (object score
     -10, the no-object pointer, no_obj_embed_spatial in its memory), propagate. Object 3 would be a
     prompt whose object score goes below zero on a tracked frame (the first of a fixed list of
     candidates), but with this model's random weights none does, and the scenario has no object 3.
  e  remove_object: objects 1 (points, frame 0), 2 (a box on frame 0, points on frame 2) and 3 (points,
     frame 0); remove 2 before propagating (its prompts are still temporary: the updated frames 0 and
     2 come from the others' temporary outputs; ids shift), propagate; remove 1 after propagating (its
     conditioning frame is downgraded, then dropped), propagate; remove 3, the last object (the state
     resets), then prompt object 4 on frame 1 and propagate (from frame 1).
  f  start_frame_idx and max_frame_num_to_track: points for object 1 on frame 1; from frame 1 for 1
     more frame (frames 1, 2); in reverse from frame 1 for up to 5 (frames 1, 0); in reverse from
     frame 0 (yields nothing); frame 2 alone (max 0: memory from frames 1 and 0, pointers from both);
     from frame 1 for 1 more frame again (frame 2 now also attends to frame 0).
     Every object has a conditioning frame at or before each frame tracked forward (at or after, in
     reverse): otherwise the frame has memory but no object pointer, which scenario g covers.
  g  a frame with memory but no object pointer (see scenario_g and promote_memory_to_float32: the
     official code fails there on a float32 CPU model; it runs with one documented wrapper).
  h  the predictor options add_all_frames_to_correct_as_cond and non_overlap_masks (a second predictor
     built with them on): two objects, a correction click on frame 2 (it becomes a conditioning frame),
     propagate again. The click is placed where the binarized mask the preflight encodes has no
     high-resolution logit within BINARIZE_MARGIN of zero (see scenario_h).

Keys (scenario.step.what):
  S.STEP.masks_sub        the masks an add_* / remove_object call returns or a propagation yields,
                          every 8th row from 1 and every 8th column from 2 (a 32x32 grid of genuinely
                          interpolated values per object: the masks are upsampled 4x from 64x64), to
                          keep the file small; S.STEP.masks_shape
                          is the full shape and S.STEP.obj_ids the object ids, in order.
  S.STEP.masks            the full masks, for one step (a.add2: a correction with two clicks and the
                          previous logits as the mask prompt).
  S.STEP.frames           for a propagation: the frames it yielded, in order (STEP is propN).
  S.propN.frameT.*        the yields of propagation N, per frame.
  S.propN.idK.cond_frames / non_cond_frames: after propagation N (or after a preflight, STEP pre),
                          the frames of object id K's stored outputs (output_dict_per_obj), and for
                          each frame the propagation yielded (every frame after a preflight):
  S.propN.idK.{cond,non_cond}.frameT.{pred_masks,object_score_logits,obj_ptr,maskmem_features}
                          (maskmem_features as float32 from the bfloat16 the predictor keeps).
  S.removeN.obj_ids       the ids remove_object returns; S.removeN.frameT.* its updated frames.

Run by hand, never in CI:  .venv-torch/bin/python tools/make_video_scenarios.py
"""
import copy
import json
import os
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from sam2.build_sam import _load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MICRO = ROOT / "tests" / "fixtures" / "sam2_micro_a"
OUT = MICRO / "video_scenarios.safetensors"

# The `_target_` classes of the official sam2.1 YAML, by path in the "model" block.
TARGETS = {
    (): "sam2.sam2_video_predictor.SAM2VideoPredictor",
    ("image_encoder",): "sam2.modeling.backbones.image_encoder.ImageEncoder",
    ("image_encoder", "trunk"): "sam2.modeling.backbones.hieradet.Hiera",
    ("image_encoder", "neck"): "sam2.modeling.backbones.image_encoder.FpnNeck",
    ("image_encoder", "neck", "position_encoding"): "sam2.modeling.position_encoding.PositionEmbeddingSine",
    ("memory_attention",): "sam2.modeling.memory_attention.MemoryAttention",
    ("memory_attention", "layer"): "sam2.modeling.memory_attention.MemoryAttentionLayer",
    ("memory_attention", "layer", "self_attention"): "sam2.modeling.sam.transformer.RoPEAttention",
    ("memory_attention", "layer", "cross_attention"): "sam2.modeling.sam.transformer.RoPEAttention",
    ("memory_encoder",): "sam2.modeling.memory_encoder.MemoryEncoder",
    ("memory_encoder", "position_encoding"): "sam2.modeling.position_encoding.PositionEmbeddingSine",
    ("memory_encoder", "mask_downsampler"): "sam2.modeling.memory_encoder.MaskDownSampler",
    ("memory_encoder", "fuser"): "sam2.modeling.memory_encoder.Fuser",
    ("memory_encoder", "fuser", "layer"): "sam2.modeling.memory_encoder.CXBlock",
}
# Steps whose masks are also kept at full resolution.
FULL_MASKS = {"a.add2"}
# Object 3 of scenario d: the first of these prompts for which the object score goes below zero on
# some tracked frame: single clicks on a grid over the frame, a negative click alone, a box around the
# whole frame (with this model, tracked scores stay near +5.7 whatever the prompt: none qualifies).
NEGATIVE_SCORE_CANDIDATES = [{"points": [[x, y]], "labels": [1]} for y in (16.0, 96.0, 176.0, 240.0)
                             for x in (16.0, 96.0, 176.0, 240.0)]
NEGATIVE_SCORE_CANDIDATES += [{"points": [[128.0, 153.6]], "labels": [0]}, {"box": [0.0, 0.0, 255.0, 255.0]}]
# The memory of a prompted frame encodes its high-resolution logits binarized at zero, so a pixel whose
# logit is within float32 noise of zero may land on either side, and one flipped pixel moves dozens of
# memory features by far more than a bfloat16 step (and every later frame with them). Scenario h's
# first click (150, 120) left a logit of 9e-8 there: the official predictor itself, run with 1 thread
# instead of 2, then differs from its own output by 153 memory elements. Replays differ from the
# official logits by up to 2e-5 there, so the correction click keeps every logit at least this far from
# zero ((120, 88) gives 4.7e-5, the widest margin on a 32-pixel grid of clicks).
BINARIZE_MARGIN = 4e-5


def build_predictor(**overrides):
    meta = json.loads((MICRO / "meta.json").read_text())
    config = copy.deepcopy(meta["model"])
    config.update(overrides)
    for path, target in TARGETS.items():
        node = config
        for key in path:
            node = node[key]
        node["_target_"] = target
    config = OmegaConf.create(config)
    OmegaConf.resolve(config)
    model = instantiate(config, _recursive_=True)
    _load_checkpoint(model, str(MICRO / "model.pt"))
    model = model.to("cpu").float()
    model.eval()
    return model, meta


def ellipse(height, width, center_y, center_x, radius_y, radius_x):
    y = torch.arange(height, dtype=torch.float64)[:, None]
    x = torch.arange(width, dtype=torch.float64)[None, :]
    return ((y - center_y) / radius_y) ** 2 + ((x - center_x) / radius_x) ** 2 <= 1.0


class Recorder:
    def __init__(self, predictor):
        self.predictor = predictor
        self.tensors = {}

    def put(self, key, tensor):
        assert key not in self.tensors, key
        self.tensors[key] = tensor.detach().clone().contiguous()

    def masks(self, key, obj_ids, masks):
        self.put(f"{key}.masks_sub", masks[..., 1::8, 2::8])
        self.put(f"{key}.masks_shape", torch.tensor(list(masks.shape), dtype=torch.int64))
        self.put(f"{key}.obj_ids", torch.tensor(list(obj_ids), dtype=torch.int64))
        if key in FULL_MASKS:
            self.put(f"{key}.masks", masks)

    def add(self, key, result):
        _, obj_ids, masks = result
        self.masks(key, obj_ids, masks)
        return masks

    def state(self, key, state, frames_to_keep=None):
        """Every object's stored outputs (output_dict_per_obj), by object id: the frames each holds, and
        the outputs on `frames_to_keep` (all when None)."""
        assert all(not temp[k] for temp in state["temp_output_dict_per_obj"].values()
                   for k in ("cond_frame_outputs", "non_cond_frame_outputs")), f"{key}: temporary outputs left"
        for obj_idx, obj_id in enumerate(state["obj_ids"]):
            outputs = state["output_dict_per_obj"][obj_idx]
            for storage in ("cond", "non_cond"):
                frames = sorted(outputs[f"{storage}_frame_outputs"])
                self.put(f"{key}.id{obj_id}.{storage}_frames", torch.tensor(frames, dtype=torch.int64))
                for frame in frames if frames_to_keep is None else sorted(set(frames) & set(frames_to_keep)):
                    out = outputs[f"{storage}_frame_outputs"][frame]
                    prefix = f"{key}.id{obj_id}.{storage}.frame{frame}"
                    self.put(f"{prefix}.pred_masks", out["pred_masks"])
                    self.put(f"{prefix}.object_score_logits", out["object_score_logits"])
                    self.put(f"{prefix}.obj_ptr", out["obj_ptr"])
                    self.put(f"{prefix}.maskmem_features", out["maskmem_features"].float())

    def propagate(self, key, state, **options):
        frames = []
        for frame_idx, obj_ids, masks in self.predictor.propagate_in_video(state, **options):
            frames.append(frame_idx)
            self.masks(f"{key}.frame{frame_idx}", obj_ids, masks)
        self.put(f"{key}.frames", torch.tensor(frames, dtype=torch.int64))
        if frames:
            self.state(key, state, frames)
        return frames


def points(*xy):
    return torch.tensor(xy, dtype=torch.float32), torch.ones(len(xy), dtype=torch.int32)


def check_reference_scenario(predictor, meta, frames_dir):
    """The reference's scenario, against video_io.safetensors: this build is the reference's model."""
    reference = load_file(str(MICRO / "video_io.safetensors"))
    video = meta["video"]
    state = predictor.init_state(frames_dir)
    worst = 0.0

    def compare(name, ours):
        nonlocal worst
        ref = reference[name].float()
        error = ((ours.float() - ref).norm() / ref.norm()).item()
        # Memory features are bfloat16: a float32 difference of 1e-7 can flip one to the next value.
        worst = max(worst, error / 100.0 if name.endswith("maskmem_features") else error)

    compare("video.images", state["images"])
    predictor.add_new_points_or_box(state, 0, 1, points=torch.tensor(video["obj1_points"]),
                                    labels=torch.tensor(video["obj1_labels"], dtype=torch.int32))
    _, _, masks = predictor.add_new_points_or_box(state, 0, 2, box=torch.tensor(video["obj2_box"]))
    compare("video.add.masks", masks)
    for frame_idx, _, masks in predictor.propagate_in_video(state):
        compare(f"video.frame{frame_idx}.masks", masks)
    for obj_idx in range(2):
        outputs = state["output_dict_per_obj"][obj_idx]
        for frame_idx, out in {**outputs["non_cond_frame_outputs"], **outputs["cond_frame_outputs"]}.items():
            for what in ("pred_masks", "object_score_logits", "obj_ptr", "maskmem_features"):
                compare(f"video.obj{obj_idx}.frame{frame_idx}.{what}", out[what])
    assert worst < 1e-5, f"this build differs from the reference's: relative error {worst:.3e}"
    print(f"reference scenario reproduced (worst relative error {worst:.3e}, memory features / 100)")


def scenario_a(predictor, recorder, frames_dir):
    state = predictor.init_state(frames_dir)
    recorder.add("a.add0", predictor.add_new_points_or_box(state, 0, 1, *points((128.0, 153.6))))
    recorder.propagate("a.prop0", state)
    recorder.add("a.add1", predictor.add_new_points_or_box(
        state, 2, 1, torch.tensor([[96.0, 120.0]]), torch.tensor([0], dtype=torch.int32)))
    recorder.add("a.add2", predictor.add_new_points_or_box(
        state, 2, 1, torch.tensor([[140.0, 170.0]]), torch.tensor([1], dtype=torch.int32), clear_old_points=False))
    predictor.propagate_in_video_preflight(state)
    recorder.state("a.pre", state)
    # Frame 3 attends to the corrected frame 2 (its memory and pointer); a propagation from the start
    # then tracks frame 2 again, as the official predictor does with a correction on a tracked frame.
    recorder.propagate("a.prop1", state, start_frame_idx=3)
    recorder.propagate("a.prop2", state)


def scenario_b(predictor, recorder, frames_dir):
    state = predictor.init_state(frames_dir)
    recorder.add("b.add0", predictor.add_new_points_or_box(state, 3, 1, box=torch.tensor([48.0, 64.0, 176.0, 200.0])))
    recorder.propagate("b.prop0", state, reverse=True)
    recorder.add("b.add1", predictor.add_new_points_or_box(state, 1, 1, *points((120.0, 110.0))))
    recorder.propagate("b.prop1", state, reverse=True)


def scenario_c(predictor, recorder, frames_dir):
    state = predictor.init_state(frames_dir)
    height, width = state["video_height"], state["video_width"]
    mask1 = ellipse(height, width, 0.55 * height, 0.45 * width, 0.22 * height, 0.3 * width)
    recorder.add("c.add0", predictor.add_new_mask(state, 0, 1, mask1))
    mask2 = ellipse(384, 320, 120.0, 220.0, 70.0, 60.0)
    recorder.add("c.add1", predictor.add_new_mask(state, 0, 2, mask2))
    mask3 = ellipse(height, width, 0.3 * height, 0.7 * width, 0.15 * height, 0.12 * width)
    recorder.add("c.add2", predictor.add_new_mask(state, 2, 2, mask3))
    recorder.propagate("c.prop0", state)


def prompt_kwargs(prompt):
    kwargs = {}
    if "points" in prompt:
        kwargs["points"] = torch.tensor(prompt["points"], dtype=torch.float32)
        kwargs["labels"] = torch.tensor(prompt["labels"], dtype=torch.int32)
    if "box" in prompt:
        kwargs["box"] = torch.tensor(prompt["box"], dtype=torch.float32)
    return kwargs


def finds_negative_score(predictor, frames_dir, prompt):
    state = predictor.init_state(frames_dir)
    predictor.add_new_points_or_box(state, 0, 3, **prompt_kwargs(prompt))
    for _ in predictor.propagate_in_video(state):
        pass
    tracked = state["output_dict_per_obj"][0]["non_cond_frame_outputs"].values()
    return any(out["object_score_logits"].item() < 0 for out in tracked)


def scenario_d(predictor, recorder, frames_dir):
    negative = next((prompt for prompt in NEGATIVE_SCORE_CANDIDATES
                     if finds_negative_score(predictor, frames_dir, prompt)), None)
    state = predictor.init_state(frames_dir)
    recorder.add("d.add0", predictor.add_new_points_or_box(state, 0, 1, *points((128.0, 153.6))))
    empty = torch.zeros(state["video_height"], state["video_width"], dtype=torch.bool)
    recorder.add("d.add1", predictor.add_new_mask(state, 0, 2, empty))
    if negative is not None:
        print(f"scenario d: object 3 prompted with {negative} gets a negative object score on a tracked frame")
        recorder.add("d.add2", predictor.add_new_points_or_box(state, 0, 3, **prompt_kwargs(negative)))
    else:
        print(f"scenario d: none of the {len(NEGATIVE_SCORE_CANDIDATES)} candidate prompts gives a negative "
              "object score on a tracked frame")
    recorder.propagate("d.prop0", state)


def scenario_e(predictor, recorder, frames_dir):
    state = predictor.init_state(frames_dir)
    recorder.add("e.add0", predictor.add_new_points_or_box(state, 0, 1, *points((128.0, 153.6))))
    recorder.add("e.add1", predictor.add_new_points_or_box(state, 0, 2, box=torch.tensor([25.6, 25.6, 115.2, 128.0])))
    recorder.add("e.add2", predictor.add_new_points_or_box(state, 2, 2, *points((60.0, 90.0))))
    recorder.add("e.add3", predictor.add_new_points_or_box(state, 0, 3, *points((180.0, 200.0))))

    def remove(key, obj_id):
        obj_ids, updated = predictor.remove_object(state, obj_id)
        recorder.put(f"{key}.obj_ids", torch.tensor(list(obj_ids), dtype=torch.int64))
        recorder.put(f"{key}.frames", torch.tensor([frame for frame, _ in updated], dtype=torch.int64))
        for frame_idx, masks in updated:
            recorder.masks(f"{key}.frame{frame_idx}", obj_ids, masks)

    remove("e.remove0", 2)
    recorder.propagate("e.prop0", state)
    remove("e.remove1", 1)
    recorder.propagate("e.prop1", state)
    remove("e.remove2", 3)
    recorder.add("e.add4", predictor.add_new_points_or_box(state, 1, 4, *points((100.0, 140.0))))
    recorder.propagate("e.prop2", state)


def scenario_f(predictor, recorder, frames_dir):
    state = predictor.init_state(frames_dir)
    recorder.add("f.add0", predictor.add_new_points_or_box(state, 1, 1, *points((128.0, 153.6))))
    recorder.propagate("f.prop0", state, start_frame_idx=1, max_frame_num_to_track=1)
    recorder.propagate("f.prop1", state, start_frame_idx=1, max_frame_num_to_track=5, reverse=True)
    recorder.propagate("f.prop2", state, start_frame_idx=0, reverse=True)
    recorder.propagate("f.prop3", state, start_frame_idx=2, max_frame_num_to_track=0)
    recorder.propagate("f.prop4", state, start_frame_idx=1, max_frame_num_to_track=1)


def promote_memory_to_float32(predictor):
    """Wraps _prepare_memory_conditioned_features so that it reads the stored bfloat16 memory features
    as float32 (the stored state itself is untouched). Whenever a frame attends to an object pointer,
    the official torch.cat of the memory tokens with the float32 pointers already promotes them to
    float32, so this changes nothing there; it only lets the official code run where a frame has memory
    but no object pointer, where on a float32 CPU model it raises "mat1 and mat2 must have the same
    dtype" (BFloat16 memory into the float32 k_proj of the memory attention's cross-attention)."""
    original = predictor._prepare_memory_conditioned_features

    def promoted(frame_idx, is_init_cond_frame, current_vision_feats, current_vision_pos_embeds, feat_sizes,
                 output_dict, num_frames, track_in_reverse=False):
        as_float32 = {
            storage: {t: {**out, "maskmem_features": out["maskmem_features"].float()} for t, out in outputs.items()}
            for storage, outputs in output_dict.items()
        }
        return original(frame_idx, is_init_cond_frame, current_vision_feats, current_vision_pos_embeds, feat_sizes,
                        as_float32, num_frames, track_in_reverse)

    predictor._prepare_memory_conditioned_features = promoted
    return original


def scenario_g(predictor, recorder, frames_dir):
    """A frame with memory but no object pointer: object 1 is prompted on frame 2 only and tracked
    forward from frame 0 (its only conditioning frame is in the future, and only_obj_ptrs_in_the_past_for_eval
    excludes its pointer; frame 1 then has frame 0's pointer). Official code with promote_memory_to_float32."""
    state = predictor.init_state(frames_dir)
    recorder.add("g.add0", predictor.add_new_points_or_box(state, 2, 1, *points((128.0, 153.6))))
    recorder.add("g.add1", predictor.add_new_points_or_box(state, 0, 2, box=torch.tensor([25.6, 25.6, 115.2, 128.0])))
    try:
        for _ in predictor.propagate_in_video(copy_state(state)):
            pass
        raise AssertionError("the official predictor no longer fails without an object pointer: drop the wrapper")
    except RuntimeError as error:
        assert "same dtype" in str(error), error
    original = promote_memory_to_float32(predictor)
    try:
        recorder.propagate("g.prop0", state)
    finally:
        predictor._prepare_memory_conditioned_features = original


def copy_state(state):
    """A copy of an inference state whose outputs can be changed without touching the original."""
    return {key: copy.deepcopy(value) if key != "images" else value for key, value in state.items()}


def scenario_h(predictor, recorder, frames_dir):
    """The predictor's own options, with add_all_frames_to_correct_as_cond and non_overlap_masks on
    (fill_hole_area stays 0: on a CPU the official fill_holes_in_mask_scores needs the CUDA extension
    and silently leaves the masks as they are)."""
    state = predictor.init_state(frames_dir)
    recorder.add("h.add0", predictor.add_new_points_or_box(state, 0, 1, *points((128.0, 153.6))))
    recorder.add("h.add1", predictor.add_new_points_or_box(state, 0, 2, box=torch.tensor([25.6, 25.6, 115.2, 128.0])))
    recorder.propagate("h.prop0", state)
    recorder.add("h.add2", predictor.add_new_points_or_box(state, 2, 1, *points((120.0, 88.0))))
    # What the preflight will binarize for the memory of frame 2 (object 1 is index 0).
    corrected = state["temp_output_dict_per_obj"][0]["cond_frame_outputs"][2]["pred_masks"]
    high_res = torch.nn.functional.interpolate(corrected, size=(predictor.image_size, predictor.image_size),
                                               mode="bilinear", align_corners=False)
    margin = high_res.abs().min().item()
    assert margin >= BINARIZE_MARGIN, f"scenario h: a logit {margin:.1e} from zero in the binarized memory input"
    predictor.propagate_in_video_preflight(state)
    recorder.state("h.pre", state)
    recorder.propagate("h.prop1", state)


def main():
    torch.set_grad_enabled(False)
    predictor, meta = build_predictor()
    frames_dir = str(MICRO / "frames")
    check_reference_scenario(predictor, meta, frames_dir)
    recorder = Recorder(predictor)
    for scenario in (scenario_a, scenario_b, scenario_c, scenario_d, scenario_e, scenario_f, scenario_g):
        scenario(predictor, recorder, frames_dir)
    options = build_predictor(add_all_frames_to_correct_as_cond=True, non_overlap_masks=True)[0]
    recorder.predictor = options
    scenario_h(options, recorder, frames_dir)
    save_file(recorder.tensors, str(OUT))
    OUT.chmod(0o644)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(recorder.tensors)} tensors)")


if __name__ == "__main__":
    main()
