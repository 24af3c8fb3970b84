#!/usr/bin/env python3
"""Writes tests/fixtures/sam2_micro_a_memory.safetensors: what the official MemoryAttention and
MemoryEncoder compute, forward and backward, with the micro SAM 2.1 model's weights
(tests/fixtures/sam2_micro_a/model.safetensors) on random inputs, for tests/models/test_memory_modules.cpp.

The modules are built from meta.json's memory_attention and memory_encoder blocks (d_model 32, two
layers, kv_in_dim 16, feat_sizes 16x16; memory encoder 32 -> 16 channels), in eval mode, float32, CPU.
- attention.*: curr and curr_pos (256, 1, 32) (the 16x16 grid of feat_sizes, sequence first as SAM2Base
  passes them), memory and memory_pos (2 * 256 + 8, 1, 16): two memory frames (so the cross-attention
  tiles its RoPE table) and 8 object-pointer tokens, which are left unrotated (num_obj_ptr_tokens = 8).
  attention.output, then the gradients of sum(output * attention.grad_seed): attention.grad.<input> and
  attention.grad.<parameter name> (names relative to memory_attention.).
- attention_square.*: the same on an 8x8 grid with batch 2 (the RoPE table is recomputed for the square
  grid of side sqrt(64)), forward and input gradients.
- encoder.*: pix_feat (2, 32, 4, 4) and mask logits (2, 1, 64, 64) (the encoder is convolutional, so a
  4x4 grid keeps the file small), skip_mask_sigmoid False. encoder.vision_features, encoder.vision_pos_enc,
  then the gradients of sum(vision_features * encoder.grad_seed) with respect to the inputs
  (encoder.grad.pix_feat, encoder.grad.masks) and the parameters (encoder.grad.<name>), less the
  147k-value mask_downsampler.encoder.9.weight, to keep the file small.

Run by hand, never in CI:  .venv-torch/bin/python tools/make_memory_fixture.py
"""
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from sam2.modeling.memory_attention import MemoryAttention, MemoryAttentionLayer
from sam2.modeling.memory_encoder import CXBlock, Fuser, MaskDownSampler, MemoryEncoder
from sam2.modeling.position_encoding import PositionEmbeddingSine
from sam2.modeling.sam.transformer import RoPEAttention

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MICRO = FIXTURES / "sam2_micro_a"
OUT = FIXTURES / "sam2_micro_a_memory.safetensors"


def submodule_state(state, prefix):
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def build_memory_attention(config):
    layer = dict(config["layer"])
    layer["self_attention"] = RoPEAttention(**layer["self_attention"])
    layer["cross_attention"] = RoPEAttention(**layer["cross_attention"])
    return MemoryAttention(d_model=config["d_model"], pos_enc_at_input=config["pos_enc_at_input"],
                           layer=MemoryAttentionLayer(**layer), num_layers=config["num_layers"],
                           batch_first=config.get("batch_first", True))


def build_memory_encoder(config):
    fuser = dict(config["fuser"])
    fuser["layer"] = CXBlock(**fuser["layer"])
    return MemoryEncoder(out_dim=config["out_dim"], mask_downsampler=MaskDownSampler(**config["mask_downsampler"]),
                         fuser=Fuser(**fuser), position_encoding=PositionEmbeddingSine(**config["position_encoding"]),
                         in_dim=config["in_dim"])


def attention_tensors(module, generator, prefix, grid, batch, with_parameters):
    dim, kv_dim, frames, pointer_tokens = 32, 16, 2, 8
    inputs = {
        "curr": torch.randn(grid, batch, dim, generator=generator),
        "curr_pos": torch.randn(grid, batch, dim, generator=generator),
        "memory": torch.randn(frames * grid + pointer_tokens, batch, kv_dim, generator=generator),
        "memory_pos": torch.randn(frames * grid + pointer_tokens, batch, kv_dim, generator=generator),
    }
    for tensor in inputs.values():
        tensor.requires_grad_(True)
    module.zero_grad()
    output = module(num_obj_ptr_tokens=pointer_tokens, **inputs)
    seed = torch.randn(output.shape, generator=generator)
    (output * seed).sum().backward()
    tensors = {f"{prefix}.{name}": tensor.detach() for name, tensor in inputs.items()}
    tensors[f"{prefix}.num_obj_ptr_tokens"] = torch.tensor([pointer_tokens], dtype=torch.int64)
    tensors[f"{prefix}.output"] = output.detach()
    tensors[f"{prefix}.grad_seed"] = seed
    tensors.update({f"{prefix}.grad.{name}": tensor.grad for name, tensor in inputs.items()})
    if with_parameters:
        tensors.update({f"{prefix}.grad.{name}": p.grad for name, p in module.named_parameters()})
    return tensors


def encoder_tensors(module, generator):
    pix_feat = torch.randn(2, 32, 4, 4, generator=generator).requires_grad_(True)
    masks = (4 * torch.randn(2, 1, 64, 64, generator=generator)).requires_grad_(True)
    output = module(pix_feat, masks, skip_mask_sigmoid=False)
    features, pos = output["vision_features"], output["vision_pos_enc"][0]
    seed = torch.randn(features.shape, generator=generator)
    (features * seed).sum().backward()
    tensors = {
        "encoder.pix_feat": pix_feat.detach(),
        "encoder.masks": masks.detach(),
        "encoder.vision_features": features.detach(),
        "encoder.vision_pos_enc": pos.detach(),
        "encoder.grad_seed": seed,
        "encoder.grad.pix_feat": pix_feat.grad,
        "encoder.grad.masks": masks.grad,
    }
    tensors.update({f"encoder.grad.{name}": p.grad for name, p in module.named_parameters()
                    if name != "mask_downsampler.encoder.9.weight"})
    return tensors


def main():
    torch.manual_seed(0)
    model = json.loads((MICRO / "meta.json").read_text())["model"]
    state = load_file(str(MICRO / "model.safetensors"))
    attention = build_memory_attention(model["memory_attention"])
    attention.load_state_dict(submodule_state(state, "memory_attention."), strict=True)
    encoder = build_memory_encoder(model["memory_encoder"])
    encoder.load_state_dict(submodule_state(state, "memory_encoder."), strict=True)
    attention.eval()
    encoder.eval()
    generator = torch.Generator().manual_seed(2024)
    tensors = attention_tensors(attention, generator, "attention", 256, 1, with_parameters=True)
    tensors.update(attention_tensors(attention, generator, "attention_square", 64, 2, with_parameters=False))
    tensors.update(encoder_tensors(encoder, generator))
    save_file({key: value.contiguous() for key, value in tensors.items()}, str(OUT))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
