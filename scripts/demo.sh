#!/usr/bin/env bash
# Set up .venv (Python 3.12 + Isaac Lab 3.0, locked) and the Unitree A1 asset, then run the main job: Isaac Lab's own
# rsl_rl training (`isaaclab train`, the task's own PPO agent config) on Isaac Lab's A1 velocity task, kit-less on the
# CPU (~3 min on 2 cores), with RerunRunnerMixin recording 100 frames of envs 0 and 1 every 5th iteration (trails of
# the trunk and feet, the feet's contact forces, the velocity-command arrows) into runs/rerun/*.rrd.
# Extra arguments go to `isaac-rerun train`, e.g. --num_envs 64 --max_iterations 50, or Hydra overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/isaac-rerun train --rl_library rsl_rl --task IsaacRerun-Velocity-Flat-UnitreeA1 --device cpu \
    --num_envs 64 --max_iterations 20 --rerun_interval 5 --rerun_length 100 --rerun_envs 0,1 \
    --rerun_trails 'trunk,.*_foot' --rerun_dir runs/rerun "$@" agent.device=cpu
