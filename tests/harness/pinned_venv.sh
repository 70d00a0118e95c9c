#!/usr/bin/env bash
# Install a pinned tool in a venv of its own, the one way tests/harness/*/install.sh do:
#
#   bash tests/harness/pinned_venv.sh NAME REQUIREMENTS VENV
#
# installs the `name==version` pins of REQUIREMENTS into VENV (created with $PYTHON, default
# python3; it keeps itself out of git, as Python 3.13's venv does), and prints the path of
# VENV/bin/NAME last. Idempotent: does nothing when every pin is already installed there.
# Paths are relative to the repository root.
set -euo pipefail

cd "$(dirname "$0")/../.."
name=$1 requirements=$2 venv=$3
python=${PYTHON:-python3}

# True when every `name==version` line of the requirements is installed in the venv.
pins_installed() {
    [ -x "$venv/bin/$name" ] && [ -x "$venv/bin/python" ] || return 1
    "$venv/bin/python" - "$requirements" <<'PY'
import importlib.metadata
import re
import sys

for line in open(sys.argv[1], encoding="utf-8"):
    match = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*==\s*([^\s;#]+)", line)
    if not match:
        continue
    name, wanted = match.groups()
    try:
        found = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"{name} is not installed")
    if found != wanted:
        sys.exit(f"{name} {found} is installed, {wanted} is pinned")
PY
}

if pins_installed; then
    echo "install_$name: $venv already has the pins of $requirements" >&2
else
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
        printf '*\n' >"$venv/.gitignore"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    pins_installed
fi
echo "$(cd "$venv/bin" && pwd)/$name"
