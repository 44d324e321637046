#!/usr/bin/env bash
# Installs what effect-nn needs on a fresh Linux machine (Debian bookworm, Node 20):
#  1. a Vulkan driver for Dawn (WebGPU in Node) when none is present: Mesa's lavapipe,
#     a software Vulkan driver, from Debian bookworm-backports (bookworm's own Mesa 22.3
#     is too old for Dawn);
#  2. the workspace's npm dependencies, exactly as locked (pnpm 12.4.2 via npx).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

have_vulkan_driver() {
  compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null || compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null
}

if [ "$(uname -s)" = "Linux" ] && ! have_vulkan_driver; then
  if [ "$(id -u)" != "0" ]; then
    echo "install: no Vulkan driver found and not root; WebGPU will fall back to the CPU." >&2
    echo "install: as root, run this script again (or install mesa-vulkan-drivers from bookworm-backports)." >&2
  elif command -v apt-get >/dev/null 2>&1; then
    . /etc/os-release
    codename="${VERSION_CODENAME:-bookworm}"
    if [ "$codename" = "bookworm" ]; then
      # Use the mirror the machine's Debian sources already use.
      mirror=""
      if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
      fi
      if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
        mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
      fi
      mirror="${mirror:-http://deb.debian.org/debian}"
      if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
          > /etc/apt/sources.list.d/effect-nn-backports.sources
      fi
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
    else
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
    fi
    echo "install: Mesa lavapipe (software Vulkan) installed for WebGPU." >&2
  fi
fi

npx -y pnpm@12.4.2 install --frozen-lockfile
