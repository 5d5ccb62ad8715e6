#!/usr/bin/env bash
# Create .venv (Python 3.12) with the locked Isaac Lab 3.0 stack (~3 GB the first time) and this package. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements/py312-isaaclab3.txt 3.12
# PyAV (isaac-rerun[video]: cameras as H.264 video), pinned in requirements/video.txt, installed beside the lock's
# packages without changing the lock; again only when the lock or requirements/video.txt changes (stamp file).
video_stamp=".venv/.video-$(cat requirements/py312-isaaclab3.txt requirements/video.txt | sha256sum | cut -c1-16)"
if [ ! -f "$video_stamp" ]; then
  .venv/bin/python -m pip install -q -r requirements/video.txt
  rm -f .venv/.video-*
  touch "$video_stamp"
fi
# The Unitree A1 for Isaac Lab's own A1 velocity task (isaac_rerun.testbed.a1): built once from pybullet's URDF
# (an 80 MB source download) with urdf-usd-converter (.venv-assets, requirements/assets.txt) into
# ${XDG_CACHE_HOME:-~/.cache}/isaac-rerun; rebuilt when scripts/build_a1_asset.py changes, silent otherwise.
ensure_venv .venv-assets requirements/assets.txt 3.12
.venv-assets/bin/python scripts/build_a1_asset.py
