#!/usr/bin/env bash
# Creates .venv-torch with PyTorch (CPU use), safetensors and the official sam2 package from
# PyPI. Only the fixture generators and the PyTorch side of benchmarks use it; the engine,
# its build and CI never do.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-torch
.venv-torch/bin/pip install --quiet --upgrade pip
.venv-torch/bin/pip install --quiet torch torchvision numpy safetensors pillow "sam2==1.1.0"
echo "ready: .venv-torch/bin/python ($(.venv-torch/bin/python -c 'import torch; print("torch", torch.__version__)'))"
