#!/usr/bin/env bash
# The test command: set up (scripts/setup.sh), then lint, type-check and run every test tier.
# In CI (CI=true) tests that need root, QEMU or packages must run, not skip.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
