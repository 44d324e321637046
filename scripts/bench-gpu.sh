#!/usr/bin/env bash
# Runs effect-nn's `bench` on a machine with a real GPU, in under 5 minutes:
#  1. checks Node (>= 20) and that a GPU driver Dawn can use is present (Vulkan on Linux,
#     Metal on macOS, D3D12 on Windows);
#  2. installs the workspace's dependencies exactly as locked (pnpm 12.4.2 via npx) unless
#     they are installed already (EFFECT_NN_OFFLINE=1 passes --offline to use a local store);
#  3. runs the bench (its first line names the adapter Dawn picked: "software" there means
#     the GPU driver is missing): matmul 256..2048, one epoch each
#     of ShallowMLP, DeepMLP and ResidualNetwork, ms per step at batch 64 and 1024, and the
#     WebGPU peers within a 120 s budget (skipped when they cannot be installed, e.g.
#     offline). Figures go to bench-results/gpu.json; the tables to stdout.
# Usage: scripts/bench-gpu.sh [extra bench flags, e.g. --only-effect-nn or --epochs=2]
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "bench-gpu: Node 20 or newer is needed (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ "$(uname -s)" = "Linux" ]; then
  if ! compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null; then
    echo "bench-gpu: no Vulkan driver (ICD) found; Dawn needs the GPU vendor's Vulkan driver (e.g. nvidia's libnvidia-gl, mesa-vulkan-drivers)." >&2
  fi
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

if [ ! -d node_modules/.pnpm ] || [ ! -e packages/gpu/node_modules/webgpu ]; then
  offline=()
  if [ "${EFFECT_NN_OFFLINE:-0}" = "1" ]; then offline=(--offline); fi
  npx -y pnpm@12.4.2 install --frozen-lockfile ${offline[@]+"${offline[@]}"}
fi

# The bench itself, bounded so that the whole script stays under 5 minutes.
left=$(( 290 - ($(date +%s) - started) ))
timeout "$left" npx tsx packages/examples/bench/bench.ts \
  --epochs=1 --peer-budget-s=120 --peer-max-epoch-s=20 --json=bench-results/gpu.json "$@"
