#!/usr/bin/env bash
# Regenerate the pictures in docs/images/ from a real recording: by default rsl_rl PPO trains briefly on Isaac Lab's
# own Unitree A1 velocity task (kit-less, CPU, the A1 that setup.sh builds) while RerunRunnerMixin records envs 0 and 1
# (1 s episodes for the picture run, so that episodes end inside the snippet); `--scene testbed`: SB3 PPO on the
# bundled test bed. Then the Rerun web viewer is screenshotted in headless Chromium (~3 min on 2 CPU cores). Needs
# Debian's chromium (apt-get install -y chromium). Extra arguments go to scripts/screenshots.py (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || {
  echo "screenshots.sh: needs chromium (Debian: apt-get install -y chromium)" >&2
  exit 1
}
bash scripts/setup.sh
exec .venv/bin/python scripts/screenshots.py "$@"
