#!/usr/bin/env bash
# A quick look (the main job is scripts/replay.sh): set up, then find and decode the crash
# that hung the Xen host w-xen09 (kernel BUG at drivers/xen/evtchn.c:264 in xen_evtchn).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
.venv/bin/kmend scan examples/
.venv/bin/kmend show examples/w-xen09-messages.log
