#!/usr/bin/env bash
# Build the docs site and check the package's distributions, in .venv-docs (Python 3.12, requirements/docs.txt):
#   1. mkdocs build --strict into site/ (every warning is an error: broken links and anchors, docstrings that
#      mkdocstrings cannot render; the API reference is read from the sources by griffe, nothing is imported, so no
#      Isaac Lab is needed);
#   2. python -m build: sdist and wheel into dist/ (emptied first);
#   3. twine check --strict dist/*: the metadata and README render on PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv-docs requirements/docs.txt 3.12
export NO_MKDOCS_2_WARNING=1  # mkdocs-material's notice about its successor, printed on every build
start=$SECONDS
.venv-docs/bin/mkdocs build --strict --clean --site-dir site
echo "docs: site/ built in $((SECONDS - start)) s"
rm -rf dist build
log=$(mktemp)
if ! .venv-docs/bin/python -m build --no-isolation --outdir dist . >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  exit 1
fi
rm -f "$log"
rm -rf build
.venv-docs/bin/twine check --strict dist/*
echo "docs: site/, dist/ ($(cd dist && echo *)) in $((SECONDS - start)) s"
