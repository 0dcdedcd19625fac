#!/usr/bin/env bash
# The main job, after setting up (root: Debian packages):
# 1. the bundled example: `kmend run --dry-run` on examples/w-xen09-messages.log (the founding
#    incident, kernel 3.10.20) with a kernel-shaped git history (scripts/make-kernel-history.py):
#    the crash decoded, the upstream fix found, the revision chosen, built against Debian's
#    6.1.0-47 headers and checked — nothing installed;
# 2. the replay: on a Xen 4.17 host under QEMU (Debian's 6.1.0-47 as PV dom0) a test build of
#    xen-evtchn kills xenstored in a kernel BUG when `xl create` starts a guest, and `xl list`
#    hangs; `kmend run` on the captured console, with a git history built from Debian's 6.1
#    and 6.12 sources (scripts/make-xen-history.py), finds the fix and cures it, the host
#    boots again healthy (a PV guest starts), then `kmend rollback` and the crash is back.
#    Prints what `kmend run` said and each stage's time (the "kmend figures" section).
# Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== 1. the bundled example: kmend run --dry-run examples/w-xen09-messages.log"
.venv/bin/python scripts/make-kernel-history.py "$work/linux.git" > "$work/manifest.json"
.venv/bin/kmend run --dry-run examples/w-xen09-messages.log --source "$work/linux.git" \
    --kdir /lib/modules/6.1.0-47-amd64/build -o "$work/fix"
echo "== 2. the replay on a Xen host under QEMU"
.venv/bin/python -m pytest -q -s tests/vm/test_replay.py "$@"
