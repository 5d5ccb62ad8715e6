#!/usr/bin/env bash
# Set up .venv (Python 3.12 + Isaac Lab 3.0) and run everything: lint, type check, the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/ruff format --check src tests examples benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest -p no:dash "$@"
