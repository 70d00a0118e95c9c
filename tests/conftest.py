"""Session-wide set-up: the PostgreSQL plugin and the Hypothesis profiles.

Shared helpers live in tests/support (whole-program runs and named scenarios in
tests/support/program.py, config helpers in tests/support/config.py).
"""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["tests.support.postgres"]

# Property tests are reproducible: the same examples on every run and machine
# (derandomize), and no example database, so no run replays an earlier one's
# failures (`.hypothesis/`). HYPOTHESIS_PROFILE=explore draws new examples.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
