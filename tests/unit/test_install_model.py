"""Journal round trip and module-name rules (pure)."""

from __future__ import annotations

import json

from kmend.install.journal import from_dict
from kmend.install.model import (
    CheckSummary,
    FileChange,
    InitramfsPlan,
    InstallTransaction,
    Mode,
    SavedFile,
    Step,
    StepState,
    TxnState,
)
from kmend.install.modtree import compression, module_name
from kmend.jsonout import dumps


def test_module_name_normalises_dashes_and_compression_suffixes() -> None:
    assert module_name("kernel/drivers/xen/xen-evtchn.ko.xz") == "xen_evtchn"
    assert module_name("xen-evtchn.ko") == "xen_evtchn"
    assert module_name("updates/dkms/foo_bar.ko.zst") == "foo_bar"
    assert compression("a/xen-evtchn.ko.xz") == "xz"
    assert compression("a/xen-evtchn.ko.zst") == "zst"
    assert compression("a/xen-evtchn.ko") is None


def test_transaction_survives_a_journal_round_trip() -> None:
    txn = InstallTransaction(
        id="20260101T000000Z-abcdef", kernel="6.1.0-47-amd64", root="/tmp/r",
        steps=(Step("backup", StepState.DONE, "saved 3"), Step("place", StepState.RUNNING)),
        state=TxnState.RUNNING, module="xen_evtchn", mode=Mode.REPLACE, source="/x.ko",
        source_sha256="00" * 32,
        files=(FileChange("lib/modules/R/kernel/x.ko.xz", "aa" * 32, "bb" * 32,
                          "backup/lib/modules/R/kernel/x.ko.xz", "new/lib/x"),),
        saved=(SavedFile("lib/modules/R/modules.dep", "cc" * 32, "saved/m"),),
        created_dirs=("lib/modules/R/updates",),
        initramfs=InitramfsPlan("boot/initrd.img-R", True, "manual", ("chroot", "/tmp/r"), "in"),
        check=CheckSummary(True, False, "x: disagrees about version of symbol module_layout"),
        forced=True, provenance={"signature": "abc", "commit": "73cc4bb0c79e"},
        messages=("m1",), error="", created="t", updated="u",
    )
    again = from_dict(json.loads(dumps(txn)))
    assert again == txn
    assert json.loads(dumps(txn))["steps"][1] == {"name": "place", "state": "running",
                                                   "detail": ""}
