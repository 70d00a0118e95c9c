#!/usr/bin/env bash
# Install the Checkov that tests/program/test_checkov.py runs, in its own venv (.venv-checkov, next
# to the repo's venv; it ignores itself for git), with the pin of tests/harness/checkov/requirements.txt
# (tests/harness/pinned_venv.sh). Idempotent: does nothing when the pin is already installed there.
# Prints the executable's path last; tools/setup.sh exports it as CHECKOV_BIN.
#
#   tests/harness/checkov/install.sh            # from anywhere; works in the repository root
#   PYTHON=python3.11 CHECKOV_VENV=/tmp/ckv tests/harness/checkov/install.sh
set -euo pipefail
exec bash "$(dirname "$0")/../pinned_venv.sh" checkov tests/harness/checkov/requirements.txt "${CHECKOV_VENV:-.venv-checkov}"
