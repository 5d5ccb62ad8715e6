#!/usr/bin/env bash
# Create .venv (Python 3.12) with the locked Isaac Lab 3.0 stack and this package (editable). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements/py312-isaaclab3.txt
PY=${PYTHON312:-python3.12}
if command -v pyenv >/dev/null 2>&1 && [ -z "${PYTHON312:-}" ]; then
  # pyenv may have 3.12 installed but not active: select it for this script
  v=$(pyenv versions --bare 2>/dev/null | grep -E '^3.12\.[0-9]+$' | sort -V | tail -n 1 || true)
  if [ -n "$v" ]; then export PYENV_VERSION=$v; fi
fi
stamp=".venv/.lock-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then exit 0; fi
echo "setup: creating .venv (Python 3.12, isaaclab 3.0 from $LOCK); the first time downloads ~3 GB" >&2
rm -rf .venv
"$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r "$LOCK"
.venv/bin/python -m pip install -q --no-deps -e .
touch "$stamp"
