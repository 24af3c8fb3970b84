#!/usr/bin/env bash
# Installs the Debian 12 packages qatd builds and tests with (sudo when not root). Packages
# already present are left alone, so a second run needs no network. The CUDA toolkit is
# optional and not a Debian package: when nvcc is on PATH the build adds the CUDA backend.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libeigen3-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev libyaml-cpp-dev
  catch2 libbenchmark-dev zlib1g-dev libminizip-dev libpng-dev libjpeg62-turbo-dev
)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
