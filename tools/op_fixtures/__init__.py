"""The PyTorch side of the engine's op table: each module here defines, by name, the same
cases as the matching tests/ops/cases_*.cpp file. tools/make_op_fixtures.py runs them all."""
import torch
import torch.nn.functional as F  # noqa: F401  (re-exported for the case modules)

# Input specs, mirroring tests/ops/op_case.h.
def normal(*shape):
    return ("normal", shape, 0.0, 1.0, True)


def uniform(shape, low, high):
    return ("uniform", shape, low, high, True)


def away(shape, low=0.2, high=1.5):
    return ("away", shape, low, high, True)


def index(shape, low, high):
    return ("index", shape, low, high, False)


def mask(shape, probability=0.5):
    return ("mask", shape, probability, 0.0, False)


def constant(spec):
    return spec[:4] + (False,)


def make_input(spec, generator):
    kind, shape, low, high, _ = spec
    if kind == "normal":
        return torch.randn(shape, generator=generator, dtype=torch.float64).float()
    if kind == "uniform":
        return (torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low).float()
    if kind == "away":
        magnitude = torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low
        negative = torch.rand(shape, generator=generator) < 0.5
        return torch.where(negative, -magnitude, magnitude).float()
    if kind == "index":
        return torch.randint(int(low), int(high), shape, generator=generator, dtype=torch.int64)
    if kind == "mask":
        return torch.rand(shape, generator=generator) < low
    raise ValueError(kind)


def weighted(x):
    return x * (torch.arange(x.numel(), dtype=x.dtype).reshape(x.shape) + 1)


CASES = {}


def case(name, inputs, fn, differentiable=True):
    assert name not in CASES, name
    CASES[name] = (inputs, fn, differentiable)


