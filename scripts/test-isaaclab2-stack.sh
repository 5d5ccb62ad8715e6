#!/usr/bin/env bash
# The Isaac Lab 2.3 user stack without Isaac Sim (Python 3.11, numpy < 2, rerun-sdk 0.23.1, gymnasium 1.2.0, torch,
# SB3 / skrl / rsl_rl as isaaclab 2.3.2.post1 pins; requirements/py311-isaaclab2.txt): install it into .venv-il2 and run
# every test that does not need a real Isaac Lab 3 (the core, outputs, USD visuals, the Isaac Lab 2.3 stand-in, each
# integration on the stand-in), reading recordings back with Rerun 0.23's own reader. Idempotent: the venv is rebuilt
# only when the lock file or pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements/py311-isaaclab2.txt
VENV=.venv-il2
PY=${PYTHON311:-python3.11}
if command -v pyenv >/dev/null 2>&1 && [ -z "${PYTHON311:-}" ]; then
  # pyenv may have 3.11 installed but not active: select it for this script
  v=$(pyenv versions --bare 2>/dev/null | grep -E '^3.11\.[0-9]+$' | sort -V | tail -n 1 || true)
  if [ -n "$v" ]; then export PYENV_VERSION=$v; fi
fi
stamp="$VENV/.lock-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "test-isaaclab2-stack: creating $VENV (Python 3.11, the Isaac Lab 2.3 stack from $LOCK)" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$LOCK"
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  touch "$stamp"
fi
"$VENV/bin/python" -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version"
# ISAAC_RERUN_STACK lets tests/test_isaaclab2_stack.py check that the installed versions are the locked stack's
ISAAC_RERUN_STACK=isaaclab2 "$VENV/bin/python" -m pytest -p no:dash -m "not isaaclab" "$@"
