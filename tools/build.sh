#!/usr/bin/env bash
# Installs the dependencies and builds qatd (Release) into build/. Extra arguments go to CMake,
# e.g. tools/build.sh -DQATD_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
