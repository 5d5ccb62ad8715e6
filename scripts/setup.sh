#!/usr/bin/env bash
# Create .venv (Python 3.12) with the locked Isaac Lab 3.0 stack (~3 GB the first time) and this package. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements/py312-isaaclab3.txt 3.12
