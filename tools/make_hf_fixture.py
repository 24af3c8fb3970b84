#!/usr/bin/env python3
"""Writes tests/fixtures/sam2_micro_a_hf.safetensors: the micro SAM 2.1 model's weights
(tests/fixtures/sam2_micro_a/model.safetensors, official names) under the names HuggingFace
transformers' Sam2VideoModel gives them, for the C++ loader's HF -> official mapping.

The renaming follows the rules of transformers' SAM 2 conversion script (convert_sam2_video_to_hf.py,
summarized in shared/reference/sam2_inventory.md section 8), written out here by module. Two checks
keep it honest: it must reproduce every row of tests/fixtures/sam2.1_hiera_t_hf_key_map.tsv (the
mapping transformers produced for hiera_t), and when transformers is installed, the renamed micro
state must load strictly into a Sam2VideoModel built with the micro model's configuration.

Run by hand, never in CI:  .venv-torch/bin/python tools/make_hf_fixture.py
(pip install transformers into .venv-torch for the second check).
"""
import csv
import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MICRO = FIXTURES / "sam2_micro_a"

TOP_LEVEL = [  # official prefix -> HF prefix, longest first
    ("image_encoder.trunk.", "vision_encoder.backbone."),
    ("image_encoder.neck.", "vision_encoder.neck."),
    ("sam_prompt_encoder.", "prompt_encoder."),
    ("sam_mask_decoder.", "mask_decoder."),
    ("obj_ptr_proj.", "object_pointer_proj."),
    ("obj_ptr_tpos_proj.", "temporal_positional_encoding_projection_layer."),
    ("no_mem_embed", "no_memory_embedding"),
    ("no_mem_pos_enc", "no_memory_positional_encoding"),
    ("no_obj_ptr", "no_object_pointer"),
    ("maskmem_tpos_enc", "memory_temporal_positional_encoding"),
    ("no_obj_embed_spatial", "occlusion_spatial_embedding_parameter"),
]
SEGMENTS = {
    "norm": "layer_norm", "norm1": "layer_norm1", "norm2": "layer_norm2", "norm3": "layer_norm3",
    "norm4": "layer_norm4", "norm_final_attn": "layer_norm_final_attn", "out_proj": "o_proj",
    "fuser": "memory_fuser", "dwconv": "depthwise_conv", "pwconv1": "pointwise_conv1",
    "pwconv2": "pointwise_conv2", "gamma": "scale", "pix_feat_proj": "feature_projection",
}
MASK_DOWNSCALING = {"0": "conv1", "1": "layer_norm1", "3": "conv2", "4": "layer_norm2", "6": "conv3"}
OUTPUT_UPSCALING = {"0": "upscale_conv1", "1": "upscale_layer_norm", "3": "upscale_conv2"}


def is_mlp(path):
    """SAM 2's MLP modules (keys PATH.layers.N.*): in Hiera blocks and TwoWay layers (mlp), and the heads."""
    last = path.rsplit(".", 1)[-1]
    parent = path.rsplit(".", 2)[-2] if path.count(".") >= 1 else ""
    return last in ("mlp", "iou_prediction_head", "pred_obj_score_head", "obj_ptr_proj") or (
        parent == "output_hypernetworks_mlps")


def mlp_depths(keys):
    depths = {}
    for key in keys:
        match = re.match(r"(.*)\.layers\.(\d+)\.[^.]+$", key)
        if match and is_mlp(match.group(1)):
            depths[match.group(1)] = max(depths.get(match.group(1), 0), int(match.group(2)) + 1)
    return depths


def hf_key(key, depths, downsampler_layers):
    """One official key under its HF name (point_embeddings.N stay separate here)."""
    # MLP layers by role: first -> proj_in, last -> proj_out, the ones between shift down by one.
    match = re.match(r"(.*)\.layers\.(\d+)\.([^.]+)$", key)
    if match and match.group(1) in depths:
        path, index, param = match.group(1), int(match.group(2)), match.group(3)
        depth = depths[path]
        role = "proj_in" if index == 0 else "proj_out" if index == depth - 1 else f"layers.{index - 1}"
        key = f"{path}.{role}.{param}"
    key = re.sub(r"^(image_encoder\.neck\.convs\.\d+)\.conv\.", r"\1.", key)
    key = key.replace("patch_embed.proj.", "patch_embed.projection.")
    key = key.replace("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding")
    key = key.replace("point_embeddings.", "point_embed.")
    key = re.sub(r"mask_downscaling\.(\d)\.", lambda m: f"mask_embed.{MASK_DOWNSCALING[m.group(1)]}.", key)
    key = re.sub(r"output_upscaling\.(\d)\.", lambda m: f"{OUTPUT_UPSCALING[m.group(1)]}.", key)
    key = re.sub(r"^memory_encoder\.out_proj\.", "memory_encoder.projection.", key)

    def downsampler(m):
        index = int(m.group(1))
        if index == 3 * downsampler_layers:
            return "mask_downsampler.final_conv."
        return f"mask_downsampler.layers.{index // 3}.{'conv' if index % 3 == 0 else 'layer_norm'}."
    key = re.sub(r"mask_downsampler\.encoder\.(\d+)\.", downsampler, key)
    for official, hf in TOP_LEVEL:
        if key.startswith(official):
            key = hf + key[len(official):]
            break
    return ".".join(SEGMENTS.get(segment, segment) for segment in key.split("."))


def hf_state(state):
    depths = mlp_depths(state)
    # The downsampler's final conv sits at index 3 * (number of conv-norm-activation layers).
    downsampler = max(int(k.split(".")[3]) for k in state if k.startswith("memory_encoder.mask_downsampler.")) // 3
    renamed = {hf_key(k, depths, downsampler): v for k, v in state.items()}
    rows = [renamed.pop(f"prompt_encoder.point_embed.{i}.weight") for i in range(4)]
    renamed["prompt_encoder.point_embed.weight"] = torch.cat(rows, dim=0)
    matrix = renamed["prompt_encoder.shared_embedding.positional_embedding"]
    renamed["shared_image_embedding.positional_embedding"] = matrix.clone()
    return renamed, depths, downsampler


def check_against_table():
    with open(FIXTURES / "sam2.1_hiera_t_hf_key_map.tsv") as table:
        rows = list(csv.reader(table, delimiter="\t"))[1:]
    keys = [row[0] for row in rows]
    depths = mlp_depths(keys)
    for official, expected, _ in rows:
        got = hf_key(official, depths, 4)
        assert got == expected, f"{official}: {got} != {expected}"
    print(f"forward rules reproduce all {len(rows)} rows of the hiera_t table")


def check_with_transformers(renamed, meta):
    try:
        from transformers import Sam2HieraDetConfig, Sam2VideoConfig, Sam2VideoModel, Sam2VisionConfig
    except ImportError:
        print("transformers is not installed: skipped the strict load into Sam2VideoModel")
        return
    model = meta["model"]
    trunk = model["image_encoder"]["trunk"]
    dims = [trunk["embed_dim"] * 2**i for i in range(4)]
    heads = [trunk["num_heads"] * 2**i for i in range(4)]
    neck = model["image_encoder"]["neck"]
    attention = model["memory_attention"]
    encoder = model["memory_encoder"]
    d_model = neck["d_model"]

    def width(layer):
        return renamed[f"{layer}.weight"].shape[0]

    config = Sam2VideoConfig(
        vision_config=Sam2VisionConfig(
            backbone_config=Sam2HieraDetConfig(hidden_size=trunk["embed_dim"], embed_dim_per_stage=dims,
                                 num_attention_heads_per_stage=heads, blocks_per_stage=trunk["stages"],
                                 global_attention_blocks=trunk["global_att_blocks"],
                                 window_positional_embedding_background_size=trunk["window_pos_embed_bkg_spatial_size"],
                                 window_size_per_stage=trunk["window_spec"], image_size=[model["image_size"]] * 2),
            backbone_channel_list=neck["backbone_channel_list"], fpn_hidden_size=d_model,
            fpn_top_down_levels=neck["fpn_top_down_levels"]),
        prompt_encoder_config=dict(hidden_size=d_model, image_size=model["image_size"]),
        mask_decoder_config=dict(hidden_size=d_model, mlp_dim=width("mask_decoder.transformer.layers.0.mlp.proj_in"),
                                 iou_head_hidden_dim=width("mask_decoder.iou_prediction_head.proj_in")),
        image_size=model["image_size"], num_maskmem=model["num_maskmem"],
        memory_attention_hidden_size=attention["d_model"], memory_attention_num_layers=attention["num_layers"],
        memory_attention_feed_forward_hidden_size=attention["layer"]["dim_feedforward"],
        memory_encoder_hidden_size=encoder["in_dim"], memory_encoder_output_channels=encoder["out_dim"],
        mask_downsampler_embed_dim=encoder["mask_downsampler"]["embed_dim"],
        memory_fuser_embed_dim=encoder["fuser"]["layer"]["dim"],
        memory_fuser_num_layers=encoder["fuser"]["num_layers"],
        memory_fuser_intermediate_dim=width("memory_encoder.memory_fuser.layers.0.pointwise_conv1"),
        enable_temporal_pos_encoding_for_object_pointers=True, enable_occlusion_spatial_embedding=True,
    )
    expected = {k: tuple(v.shape) for k, v in Sam2VideoModel(config).state_dict().items()}
    assert set(expected) == set(renamed), (sorted(set(expected) - set(renamed)), sorted(set(renamed) - set(expected)))
    # transformers fixes the memory attention's key/value input width at 64 (the released
    # models' memory width); the micro model's is 16, so only those shapes may differ.
    mismatched = [k for k in expected if expected[k] != tuple(renamed[k].shape)]
    assert all(re.search(r"cross_attn_image\.[kv]_proj\.weight$", k) for k in mismatched), mismatched
    print(f"transformers Sam2VideoModel has exactly these {len(renamed)} keys "
          f"({len(mismatched)} memory-attention key/value shapes differ by its fixed width of 64)")


def main():
    check_against_table()
    state = load_file(MICRO / "model.safetensors")
    renamed, depths, downsampler = hf_state(state)
    check_with_transformers(renamed, json.loads((MICRO / "meta.json").read_text()))
    path = FIXTURES / "sam2_micro_a_hf.safetensors"
    save_file({k: v.contiguous() for k, v in renamed.items()}, path, metadata={"format": "pt"})
    print(f"{path.relative_to(ROOT)}: {len(renamed)} tensors")


if __name__ == "__main__":
    main()
