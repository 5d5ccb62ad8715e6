#!/usr/bin/env bash
# Python 3.11 without Isaac Lab (what Isaac Sim 5.x users run): install the core and run every test that does not
# need a real Isaac Lab (triggers, outputs, USD visuals, the recorder on the Isaac Lab 2.x data stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv311 requirements/py311-core.txt 3.11
.venv311/bin/python -m pytest -m "not isaaclab" "$@"
