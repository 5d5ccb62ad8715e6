#!/usr/bin/env bash
# Python 3.11 without Isaac Lab (what Isaac Sim 5.x users run): install the core and run every test that does not
# need a real Isaac Lab (triggers, outputs, USD visuals, the recorder on the Isaac Lab 2.x data stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements/py311-core.txt
PY=${PYTHON311:-python3.11}
if command -v pyenv >/dev/null 2>&1 && [ -z "${PYTHON311:-}" ]; then
  # pyenv may have 3.11 installed but not active: select it for this script
  v=$(pyenv versions --bare 2>/dev/null | grep -E '^3.11\.[0-9]+$' | sort -V | tail -n 1 || true)
  if [ -n "$v" ]; then export PYENV_VERSION=$v; fi
fi
stamp=".venv311/.lock-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf .venv311
  "$PY" -m venv .venv311
  .venv311/bin/python -m pip install -q --upgrade pip
  .venv311/bin/python -m pip install -q -r "$LOCK"
  .venv311/bin/python -m pip install -q --no-deps -e .
  touch "$stamp"
fi
.venv311/bin/python -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version"
.venv311/bin/python -m pytest -m "not isaaclab" "$@"
