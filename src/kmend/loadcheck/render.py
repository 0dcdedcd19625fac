"""Text and JSON views of a LoadVerdict (shared by `kmend check` and `kmend preflight`)."""

from __future__ import annotations

from typing import Any

from kmend.jsonout import to_jsonable
from kmend.kernel.target import KernelTarget
from kmend.ko.model import ModuleFile
from kmend.loadcheck.model import ERROR, LoadVerdict


def module_summary(mod: ModuleFile) -> dict[str, Any]:
    return {
        "path": str(mod.path),
        "name": mod.name,
        "vermagic": mod.vermagic,
        "depends": list(mod.depends),
        "license": mod.license,
        "srcversion": mod.srcversion,
        "intree": mod.intree,
        "versions": len(mod.versions),
        "has_versions": mod.has_versions,
        "undefined": list(mod.undefined),
        "exports": [e.name for e in mod.exports],
        "signature": to_jsonable(mod.signature),
        "compression": mod.compression,
    }


def target_summary(target: KernelTarget) -> dict[str, Any]:
    return {
        "release": target.release,
        "kdir": str(target.kdir) if target.kdir else None,
        "vermagic": target.vermagic,
        "modversions": target.modversions,
        "sig_enforce": target.sig_enforce,
        "symvers": len(target.symvers),
        "version": ".".join(map(str, target.version)) if target.version else None,
        "package_id": target.package_id.strip(),
        "this_module_size": target.this_module_size,
        "sources": dict(target.sources),
    }


def verdict_json(verdict: LoadVerdict, mod: ModuleFile, target: KernelTarget) -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(verdict)
    first = verdict.first_error
    doc["first_error"] = first.message if first else None
    doc["module_file"] = module_summary(mod)
    doc["kernel_target"] = target_summary(target)
    return doc


def verdict_lines(verdict: LoadVerdict, mod: ModuleFile) -> list[str]:
    """Plain lines for people: the verdict, what the kernel prints, why, what to do."""
    target = verdict.release or "the target kernel"
    head = "LOADS" if verdict.will_load else "REFUSED"
    taints = f" (taints the kernel: {' '.join(verdict.taints)})" if verdict.taints else ""
    lines = [f"{mod.path.name} → {target}: {head}{taints}"]
    enf = verdict.enforcement
    if enf is not None and (enf.sig_enforce or enf.locked_down or enf.secure_boot):
        sb = {True: "on", False: "off", None: "unknown"}[enf.secure_boot]
        lines.append(f"  signatures: Secure Boot {sb}, sig_enforce "
                     f"{'on' if enf.sig_enforce else 'off'}, lockdown {enf.lockdown}")
    printed = [f for f in verdict.findings if f.kernel]
    if printed:
        lines.append("  the kernel would print:")
        lines += [f"    {f.message}" for f in printed]
    notes = [f for f in verdict.findings if not f.kernel]
    for f in notes:
        if f.message.startswith("insmod: "):
            lines.append(f"  insmod would say: {f.message.removeprefix('insmod: ')}")
            continue
        lines.append(f"  {'why' if f.severity == ERROR else 'note'}: {f.message}")
    first = verdict.first_error
    if first is not None and first.kernel:
        lines.append(f"  first error: {first.message}")
    for hint in verdict.hints:
        lines.append(f"  what to do: {hint}" if not verdict.will_load else f"  note: {hint}")
    return lines
