"""How much does a transactional install cost over a bare `cp` + `depmod`?

Reference (measured in the same run): copy the .ko into updates/ and run the real depmod,
then delete it and run depmod again — what a careless manual install and undo does.
Measured: kmend's library install (backup, staged copy, fsyncs, journal, depmod,
initramfs detection) and rollback on the same reduced copy of a real Debian module tree.
Prints the ratios; asserts nothing.

    .venv/bin/python bench/install_overhead.py [RELEASE] [MODULE.ko] [ROUNDS]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from kmend import proc
from kmend.install import SafeRoot, install, plan_install, rollback
from kmend.install.precheck import no_check
from kmend.lab.kernels import reduced_tree


def main() -> None:
    release = sys.argv[1] if len(sys.argv) > 1 else "6.1.0-47-amd64"
    ko = Path(sys.argv[2]) if len(sys.argv) > 2 else (
        Path("/lib/modules") / release / "kernel/drivers/xen/xen-evtchn.ko")
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory(prefix="kmend-bench-") as tmp:
        root = Path(tmp) / "root"
        reduced_tree(release, root)
        updates = root / "lib/modules" / release / "updates"
        t0 = time.perf_counter()
        for _ in range(rounds):
            updates.mkdir()
            shutil.copy(ko, updates / ko.name)
            proc.run(["depmod", "-b", str(root), release], timeout=120)
            shutil.rmtree(updates)
            proc.run(["depmod", "-b", str(root), release], timeout=120)
        ref = (time.perf_counter() - t0) / rounds
        t0 = time.perf_counter()
        t_inst = 0.0
        for _ in range(rounds):
            with SafeRoot(root) as r:
                a = time.perf_counter()
                txn = install(r, plan_install(r, ko, kernel=release, checker=no_check))
                t_inst += time.perf_counter() - a
                rollback(r, txn.id)
        both = (time.perf_counter() - t0) / rounds
    print(f"release {release}, module {ko.name}, {rounds} rounds")
    print(f"reference cp+depmod, rm+depmod : {ref * 1000:8.1f} ms per round (1.00x)")
    print(f"kmend install+rollback         : {both * 1000:8.1f} ms per round "
          f"({both / ref:.2f}x the reference)")
    print(f"  of which install             : {t_inst / rounds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
