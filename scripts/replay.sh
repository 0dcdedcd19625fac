#!/usr/bin/env bash
# The replay (issue #7): a real xen_evtchn crash on a Xen 4.17 host under QEMU (Debian's
# 6.1.0-47 as PV dom0, xenstored, a PV guest from `xl create`), cured by `kmend run`, the
# host booted again healthy, then `kmend rollback` and the crash is back.  Sets up first;
# prints what `kmend run` said and each stage's time (the "kmend figures" section).
# Extra arguments go to pytest.  Needs root for setup (Debian packages); about a minute
# or two under QEMU's software emulation.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
.venv/bin/python -m pytest -q -s tests/vm/test_replay.py "$@"
