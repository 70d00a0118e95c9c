#!/usr/bin/env bash
# Install the LiteLLM proxy that tests/harness/litellm/probe.py and tests/components/litellm/test_litellm_real_proxy.py
# run, in its own venv (.venv-litellm, next to the repo's venv; git-ignored), with the pins of
# tests/harness/litellm/requirements.txt (tests/harness/pinned_venv.sh). Idempotent: does nothing
# when every pin is already installed there. Prints the executable's path last; CI exports it as LITELLM_BIN.
#
#   tests/harness/litellm/install.sh            # from anywhere; works in the repository root
#   PYTHON=python3.11 LITELLM_VENV=.venv-litellm-py311 tests/harness/litellm/install.sh
set -euo pipefail
exec bash "$(dirname "$0")/../pinned_venv.sh" litellm tests/harness/litellm/requirements.txt "${LITELLM_VENV:-.venv-litellm}"
