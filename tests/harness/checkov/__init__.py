"""Checkov, an independent scanner, over everything a stack deploys: its pinned install (install.sh,
requirements.txt, its own venv .venv-checkov) and the scan of a preview's `--out` folder (scan.py)."""
