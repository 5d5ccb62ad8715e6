#!/usr/bin/env bash
# ensure_venv VENV LOCK PYTHON_MINOR: create VENV with that Python from the pinned LOCK file plus this package
# (editable), unless it was already built from the same LOCK. When only pyproject.toml changed (entry points,
# package data, tool settings), the package is reinstalled (no dependencies, seconds) instead of the whole venv.
# Sourced by the other scripts.
ensure_venv() {
  local venv=$1 lock=$2 minor=$3
  local stamp pkg_stamp
  stamp="$venv/.lock-$(sha256sum "$lock" | sha256sum | cut -c1-16)"
  pkg_stamp="$venv/.pkg-$(sha256sum pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then
    if [ ! -f "$pkg_stamp" ]; then
      "$venv/bin/python" -m pip install -q --no-deps -e .
      rm -f "$venv"/.pkg-*
      touch "$pkg_stamp"
    fi
    return 0
  fi
  local py="python$minor"
  if command -v pyenv >/dev/null 2>&1; then
    # pyenv may have this Python installed but not active: select it for the build
    local v
    v=$(pyenv versions --bare 2>/dev/null | grep -E "^${minor//./\\.}\.[0-9]+$" | sort -V | tail -n 1 || true)
    if [ -n "$v" ]; then export PYENV_VERSION=$v; fi
  fi
  echo "creating $venv (Python $minor, from $lock)" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$lock"
  "$venv/bin/python" -m pip install -q --no-deps -e .
  "$venv/bin/python" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$minor'.split('.'))), sys.version"
  touch "$stamp" "$pkg_stamp"
}
