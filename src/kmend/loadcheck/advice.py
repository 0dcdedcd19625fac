"""What to do about a refusal, in words (the "what to do" lines of `kmend check`)."""

from __future__ import annotations

from kmend.kernel.target import KernelTarget
from kmend.ko.model import ModuleFile
from kmend.loadcheck.model import ERROR, Finding


def advice(module: ModuleFile, target: KernelTarget, findings: list[Finding],
           will_load: bool, unexplained: list[str]) -> list[str]:
    """What to do, in words."""
    if will_load:
        return []
    checks = {f.check for f in findings if f.severity == ERROR}
    release = target.release or "the target kernel"
    built_for = (module.vermagic or "").split(" ")[0] or "another kernel"
    out = []
    if checks & {"module_layout", "vermagic", "this_module", "modversions"}:
        out.append(f"the module was built for {built_for}: rebuild it against the headers "
                   f"of {release} (make -C /lib/modules/{release}/build M=$PWD modules)")
    if unexplained:
        out.append(f"{', '.join(unexplained)}: not exported by {release}: port the code to an "
                   "exported API, or load the module that exports it first")
    if "signature" in checks:
        out.append("sign the module with a key the target trusts: kmend sign KO --key KEY "
                   "--cert CERT (a Machine Owner Key: enroll CERT with mokutil --import, "
                   "reboot, confirm in MokManager)")
    if "elf" in checks:
        out.append("rebuild the module; do not strip it with --strip-all (use --strip-debug)")
    return out
