#!/usr/bin/env bash
# The test command: set up (scripts/setup.sh), then lint, type-check and run every test tier.
# In CI (CI=true) tests that need root, QEMU or packages must run, not skip.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
# older hosts' own pythons (Debian 11, Ubuntu 22.04/20.04) for the on-host zipapp's tests
bash scripts/older-pythons.sh
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
