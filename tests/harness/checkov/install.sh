#!/usr/bin/env bash
# Install the Checkov that tests/program/test_checkov.py runs, in its own venv (.venv-checkov, next
# to the repo's venv; it ignores itself for git), with the pin of tests/harness/checkov/requirements.txt.
# Idempotent: does nothing when the pin is already installed there. Prints the executable's path
# last; tools/setup.sh exports it as CHECKOV_BIN.
#
#   tests/harness/checkov/install.sh            # from anywhere; works in the repository root
#   PYTHON=python3.11 CHECKOV_VENV=/tmp/ckv tests/harness/checkov/install.sh
set -euo pipefail

cd "$(dirname "$0")/../../.."
requirements=tests/harness/checkov/requirements.txt
venv=${CHECKOV_VENV:-.venv-checkov}
python=${PYTHON:-python3}

# True when every `name==version` line of the requirements is installed in the venv.
pins_installed() {
    [ -x "$venv/bin/checkov" ] && [ -x "$venv/bin/python" ] || return 1
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
    echo "install_checkov: $venv already has the pins of $requirements" >&2
else
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
        # The venv keeps itself out of git (as Python 3.13's venv does), so no .gitignore line is needed.
        printf '*\n' >"$venv/.gitignore"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    pins_installed
fi
echo "$(cd "$venv/bin" && pwd)/checkov"
