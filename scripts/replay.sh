#!/usr/bin/env bash
# The replay (issue #7): on a Xen 4.17 host under QEMU (Debian's 6.1.0-47 as PV dom0) a
# test build of xen-evtchn kills xenstored in a kernel BUG when `xl create` starts a guest,
# and `xl list` hangs; `kmend run` on the captured console, with a git history built from
# Debian's 6.1 and 6.12 sources (scripts/make-xen-history.py), finds the fix and cures it,
# the host boots again
# healthy (a PV guest starts), then `kmend rollback` and the crash is back.  Sets up first;
# prints what `kmend run` said and each stage's time (the "kmend figures" section).
# Extra arguments go to pytest.  Needs root for setup (Debian packages).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
.venv/bin/python -m pytest -q -s tests/vm/test_replay.py "$@"
