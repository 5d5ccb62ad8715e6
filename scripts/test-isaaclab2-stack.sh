#!/usr/bin/env bash
# The Isaac Lab 2.3 user stack without Isaac Sim (Python 3.11, numpy < 2, rerun-sdk 0.23.1, gymnasium 1.2.0, torch,
# SB3 / skrl / rsl_rl as isaaclab 2.3.2.post1 pins; requirements/py311-isaaclab2.txt): install it into .venv-il2 and run
# every test that does not need a real Isaac Lab 3 (the core, outputs, USD visuals, the Isaac Lab 2.3 stand-in, each
# integration on the stand-in), reading recordings back with Rerun 0.23's own reader. Idempotent: the venv is rebuilt
# only when the lock file or pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv-il2 requirements/py311-isaaclab2.txt 3.11
# ISAAC_RERUN_STACK lets tests/test_isaaclab2_stack.py check that the installed versions are the locked stack's
ISAAC_RERUN_STACK=isaaclab2 .venv-il2/bin/python -m pytest -p no:dash -m "not isaaclab" "$@"
