#!/usr/bin/env bash
# Create .venv (Python 3.12) with the locked Isaac Lab 3.0 stack (~3 GB the first time) and this package. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements/py312-isaaclab3.txt 3.12
# The Unitree A1 for Isaac Lab's own A1 velocity task (isaac_rerun.testbed.a1): built once from pybullet's URDF
# (an 80 MB source download) with urdf-usd-converter (.venv-assets, requirements/assets.txt) into
# ${XDG_CACHE_HOME:-~/.cache}/isaac-rerun; rebuilt when scripts/build_a1_asset.py changes, silent otherwise.
ensure_venv .venv-assets requirements/assets.txt 3.12
.venv-assets/bin/python scripts/build_a1_asset.py
