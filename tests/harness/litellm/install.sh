#!/usr/bin/env bash
# Install the LiteLLM proxy that tests/harness/litellm/probe.py and tests/components/litellm/test_litellm_real_proxy.py
# run, in its own venv (.venv-litellm, next to the repo's venv; git-ignored), with the pins of
# tests/harness/litellm/requirements.txt. Idempotent: does nothing when every pin is already
# installed there. Prints the executable's path last; CI exports it as LITELLM_BIN.
#
#   tests/harness/litellm/install.sh            # from anywhere; works in the repository root
#   PYTHON=python3.11 LITELLM_VENV=.venv-litellm-py311 tests/harness/litellm/install.sh
set -euo pipefail

cd "$(dirname "$0")/../../.."
requirements=tests/harness/litellm/requirements.txt
venv=${LITELLM_VENV:-.venv-litellm}
python=${PYTHON:-python3}

# True when every `name==version` line of the requirements is installed in the venv.
pins_installed() {
    [ -x "$venv/bin/litellm" ] && [ -x "$venv/bin/python" ] || return 1
    "$venv/bin/python" - "$requirements" <<'EOF'
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
EOF
}

if pins_installed; then
    echo "install_litellm: $venv already has the pins of $requirements" >&2
else
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    pins_installed
fi
echo "$(cd "$venv/bin" && pwd)/litellm"
