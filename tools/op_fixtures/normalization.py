"""Op cases: layer normalization; the C++ side is tests/ops/cases_normalization.cpp."""
import torch
import torch.nn.functional as F

from op_fixtures import case, constant, normal, uniform


def layer_norm2d(x, weight, bias, eps=1e-6):
    """SAM 2's LayerNorm2d (sam2/modeling/sam2_utils.py)."""
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    x = (x - u) / torch.sqrt(s + eps)
    return weight[:, None, None] * x + bias[:, None, None]


case("layer_norm_last_dim", [normal(3, 4, 6), normal(6), normal(6)], lambda x, w, b: F.layer_norm(x, (6,), w, b))
case("layer_norm_two_dims", [normal(2, 3, 4, 5), normal(4, 5), normal(4, 5)],
     lambda x, w, b: F.layer_norm(x, (4, 5), w, b))
case("layer_norm_no_affine", [normal(4, 7)], lambda x: F.layer_norm(x, (7,)))
case("layer_norm_weight_only", [normal(3, 5), normal(5)], lambda x, w: F.layer_norm(x, (5,), w))
case("layer_norm_bias_only", [normal(3, 5), normal(5)], lambda x, b: F.layer_norm(x, (5,), None, b))
case("layer_norm_eps_shifted_input", [uniform((3, 8), 4.0, 6.0), normal(8), normal(8)],
     lambda x, w, b: F.layer_norm(x, (8,), w, b, eps=0.1))
case("layer_norm_many_rows", [normal(2, 35, 3), normal(3), normal(3)], lambda x, w, b: F.layer_norm(x, (3,), w, b))
case("layer_norm_non_contiguous", [normal(5, 4), normal(5), normal(5)],
     lambda x, w, b: F.layer_norm(x.t(), (5,), w, b))
case("layer_norm_constant_affine", [normal(3, 6), constant(normal(6)), constant(normal(6))],
     lambda x, w, b: F.layer_norm(x, (6,), w, b))
case("layer_norm2d", [normal(2, 3, 4, 5), normal(3), normal(3)], layer_norm2d)
case("layer_norm2d_wide", [normal(1, 3, 17, 16), normal(3), normal(3)],
     lambda x, w, b: layer_norm2d(x, w, b, 1e-5))
case("layer_norm2d_channels_last", [normal(2, 4, 5, 3), normal(3), normal(3)],
     lambda x, w, b: layer_norm2d(x.permute(0, 3, 1, 2), w, b))
