"""Op cases: padding, concatenation, splitting, repetition, rolling, flipping, deterministic dropout;
the C++ side is tests/ops/cases_shape_ops.cpp."""
import torch
import torch.nn.functional as F

from op_fixtures import case, constant, normal


def join_pieces(pieces, dim):
    """Pieces scaled by 1, 2, ... and joined in reverse order (as join_pieces in the C++ cases)."""
    return torch.cat([pieces[i] * float(i + 1) for i in reversed(range(len(pieces)))], dim)


# pad, constant mode.
case("pad_constant_last_dim", [normal(2, 5)], lambda x: F.pad(x, (1, 2), value=0.5))
case("pad_constant_crop", [normal(2, 3, 5, 6)], lambda x: F.pad(x, (1, -1, -2, 2), value=-1.0))
case("pad_constant_three_dims", [normal(2, 3, 4, 3)], lambda x: F.pad(x, (0, 1, 2, 0, 1, 1)))
case("pad_constant_every_dim", [normal(3, 4)], lambda x: F.pad(x, (-1, 2, 2, -1)))
case("pad_constant_transposed", [normal(4, 3)], lambda x: F.pad(x.t(), (2, 1, 0, 1), value=2.0))
# pad, reflect and replicate.
case("pad_reflect_1d", [normal(2, 3, 6)], lambda x: F.pad(x, (2, 5), mode="reflect"))
case("pad_reflect_1d_crop", [normal(3, 6)], lambda x: F.pad(x, (-1, 4), mode="reflect"))
case("pad_reflect_2d", [normal(2, 2, 4, 5)], lambda x: F.pad(x, (3, 1, 2, 3), mode="reflect"))
case("pad_reflect_3d", [normal(1, 2, 3, 4, 3)], lambda x: F.pad(x, (1, 2, 2, 1, 1, 2), mode="reflect"))
case("pad_reflect_permuted", [normal(5, 2, 3)], lambda x: F.pad(x.permute(1, 2, 0), (2, 2), mode="reflect"))
case("pad_replicate_1d", [normal(2, 4)], lambda x: F.pad(x, (3, 2), mode="replicate"))
case("pad_replicate_2d_unbatched", [normal(2, 3, 4)], lambda x: F.pad(x, (2, 1, 0, 3), mode="replicate"))
case("pad_replicate_3d", [normal(2, 3, 2, 4)], lambda x: F.pad(x, (1, -1, 2, 0, 1, 3), mode="replicate"))
# cat and stack.
case("cat_dim0", [normal(2, 3), normal(4, 3), normal(1, 3)], lambda a, b, c: torch.cat([a, b, c], 0))
case("cat_negative_dim_transposed", [normal(2, 3, 2), normal(2, 2, 4)],
     lambda a, b: torch.cat([a, b.transpose(1, 2)], -2))
case("cat_skips_empty_1d", [normal(2, 3), normal(2, 2)], lambda a, b: torch.cat([a, torch.empty(0), b], 1))
case("cat_constant_input", [normal(3, 2), constant(normal(3, 1))], lambda a, b: torch.cat([b, a], 1))
case("stack_dim1", [normal(2, 3), normal(2, 3), normal(2, 3)], lambda a, b, c: torch.stack([a, b, c], 1))
case("stack_last_dim", [normal(3, 2), normal(3, 2)], lambda a, b: torch.stack([a, b], -1))
# split, split_with_sizes, chunk.
case("split_int", [normal(7, 3)], lambda x: join_pieces(torch.split(x, 3, 0), 0))
case("split_with_sizes", [normal(3, 8)], lambda x: join_pieces(torch.split(x, [2, 0, 5, 1], 1), 1))
case("chunk_uneven", [normal(2, 7)], lambda x: join_pieces(torch.chunk(x, 3, -1), -1))
case("chunk_fewer_pieces", [normal(5, 2)], lambda x: join_pieces(torch.chunk(x, 4, 0), 0))
# repeat, repeat_interleave.
case("repeat_more_than_dims", [normal(2, 3)], lambda x: x.repeat(2, 1, 3))
case("repeat_transposed", [normal(3, 2)], lambda x: x.t().repeat(3, 2))
case("repeat_interleave_middle", [normal(2, 3, 2)], lambda x: torch.repeat_interleave(x, 2, 1))
case("repeat_interleave_last", [normal(2, 3)], lambda x: torch.repeat_interleave(x, 3, -1))
# roll, flip.
case("roll_two_dims", [normal(3, 4, 5)], lambda x: torch.roll(x, (1, -7), (0, 2)))
case("roll_flattened", [normal(3, 4)], lambda x: torch.roll(x, 5))
case("roll_repeated_dim", [normal(2, 5)], lambda x: torch.roll(x, (2, 4), (1, -1)))
case("flip_two_dims", [normal(2, 3, 4)], lambda x: torch.flip(x, (0, 2)))
case("flip_transposed", [normal(3, 4)], lambda x: torch.flip(x.t(), (-1,)))
# dropout where PyTorch's result is deterministic.
case("dropout_eval", [normal(3, 4)], lambda x: F.dropout(x, 0.5, training=False))
case("dropout_p0", [normal(3, 4)], lambda x: F.dropout(x, 0.0, training=True))
