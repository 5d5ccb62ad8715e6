#!/usr/bin/env bash
# Regenerate the pictures in docs/images/ from a real recording: SB3 PPO trains briefly on the bundled task (CPU)
# while RerunCallback records envs 0 and 1, then the Rerun web viewer is screenshotted in headless Chromium
# (~2 min on 2 CPU cores). Needs Debian's chromium (apt-get install -y chromium). Extra arguments go to
# scripts/screenshots.py (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || {
  echo "screenshots.sh: needs chromium (Debian: apt-get install -y chromium)" >&2
  exit 1
}
bash scripts/setup.sh
exec .venv/bin/python scripts/screenshots.py "$@"
