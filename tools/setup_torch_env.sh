#!/usr/bin/env bash
# Creates .venv-torch with PyTorch (CPU use), safetensors, the official sam2 package and
# tensorboard (its reader decodes the event-file fixture) from PyPI. Only the fixture generators
# and the PyTorch side of benchmarks use it; the engine, its build and CI never do.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-torch
.venv-torch/bin/pip install --quiet --upgrade pip
.venv-torch/bin/pip install --quiet torch torchvision numpy safetensors pillow "sam2==1.1.0" tensorboard
echo "ready: .venv-torch/bin/python ($(.venv-torch/bin/python -c 'import torch; print("torch", torch.__version__)'))"
