#!/usr/bin/env bash
# Installs the Debian packages moert builds against, when any is missing.
# Runs `apt-get update` once first (a fresh machine has no package lists).
# The CUDA toolkit is expected at /usr/local/cuda (not a Debian package here).
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  libyaml-cpp-dev                       # YAML configs
  libboost-dev libboost-filesystem-dev  # Boost.DLL plugin loading
  libdnnl-dev                           # oneDNN 2.6: the CPU plugin
  libgtest-dev libbenchmark-dev         # tests and benchmarks
  hipcc libamdhip64-dev                 # ROCm HIP 5.2: the ROCm plugin
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
