#!/usr/bin/env bash
# Set up .venv (Python 3.12 + Isaac Lab 3.0, locked) and run the main job: SB3 PPO trains on the bundled Isaac Lab
# task on the CPU (~2 min) while RerunCallback records it to runs/rerun/*.rrd. Extra arguments go to the example,
# e.g. --num_envs 64, --device cuda:0, --task Isaac-Cartpole-Direct (on a machine with Isaac Lab's assets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/train_sb3.py --timesteps 32768 --rerun_interval 512 --rerun_length 0 --rerun_trails cart,tip "$@"
