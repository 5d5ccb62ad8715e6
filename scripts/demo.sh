#!/usr/bin/env bash
# Set up .venv (Python 3.12 + Isaac Lab 3.0, locked) and run the main job: a real Isaac Lab task on the CPU,
# recorded to runs/rerun/*.rrd. Extra arguments go to the example (e.g. --num_envs 32 --device cuda:0 --task ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/record_random_policy.py "$@"
