"""Kernel-upgrade hooks that run ``kmend rebuild --kernel VERSION``.

* Debian/Ubuntu: ``/etc/kernel/postinst.d/zz-kmend``.  A kernel image package's postinst
  runs ``run-parts --arg=VERSION --arg=IMAGE /etc/kernel/postinst.d``, so the hook is
  called as ``zz-kmend VERSION IMAGE``; ``zz-`` orders it after ``dkms`` (whose
  AUTOINSTALL builds kmend then verifies).  run-parts only runs names made of letters,
  digits, ``_`` and ``-``.
* Fedora/RHEL (systemd's kernel-install): ``/etc/kernel/install.d/90-kmend.install``,
  called as ``90-kmend.install add VERSION ENTRY_DIR IMAGE`` (and ``remove VERSION ...``,
  which kmend ignores: the module tree goes with the kernel).

A failed rebuild must not abort the kernel package's installation (a failing postinst.d
script does), so the hooks print what kmend said and exit 0; ``kmend status`` shows what
was not carried over.  The hooks are written atomically under the root.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass

from kmend.errors import StateError
from kmend.install.fsops import SafeRoot

DEBIAN_HOOK = "etc/kernel/postinst.d/zz-kmend"
KERNEL_INSTALL_HOOK = "etc/kernel/install.d/90-kmend.install"
MARKER = "# kmend kernel-upgrade hook"


def kmend_command(root: SafeRoot) -> list[str]:
    """How the hook runs this kmend: the same interpreter, ``-m kmend``."""
    argv = [sys.executable, "-m", "kmend", "rebuild"]
    if not root.is_host:
        argv += ["--root", str(root.path)]
    return argv


def debian_hook(argv: list[str]) -> str:
    cmd = " ".join(shlex.quote(a) for a in argv)
    return f"""#!/bin/sh
{MARKER} (Debian/Ubuntu /etc/kernel/postinst.d): carry kmend's module fixes over to
# a newly installed kernel, or retire those the new kernel already contains.
# Called by the kernel package's postinst as: zz-kmend VERSION [IMAGE]
version="$1"
if [ -z "$version" ]; then
    echo "zz-kmend: no kernel version given" >&2
    exit 0
fi
{cmd} --kernel "$version" || \\
    echo "zz-kmend: kmend rebuild --kernel $version failed (exit $?); see kmend status" >&2
exit 0
"""


def kernel_install_hook(argv: list[str]) -> str:
    cmd = " ".join(shlex.quote(a) for a in argv)
    return f"""#!/bin/sh
{MARKER} (systemd kernel-install plugin, Fedora/RHEL): carry kmend's module fixes
# over to a newly added kernel.  Called as: 90-kmend.install add|remove VERSION ENTRY_DIR IMAGE
command="$1"
version="$2"
[ "$command" = add ] || exit 0
if [ -z "$version" ]; then
    echo "90-kmend.install: no kernel version given" >&2
    exit 0
fi
{cmd} --kernel "$version" || \\
    echo "90-kmend.install: kmend rebuild --kernel $version failed (exit $?); see kmend status" >&2
exit 0
"""


@dataclass(frozen=True)
class HookFile:
    path: str  # host path
    action: str  # created | updated | unchanged | removed | absent


def _refuse_foreign(root: SafeRoot, rel: str) -> None:
    if root.lstat(rel) is None:
        return
    data = root.read_bytes(rel)
    if MARKER.encode() not in data:
        raise StateError(f"{root.host_path(rel)} exists and was not written by kmend",
                         "move it away first; kmend will not overwrite it")


def install_hooks(root: SafeRoot) -> tuple[HookFile, ...]:
    """Write both hooks (executable, 0755) under the root; idempotent."""
    argv = kmend_command(root)
    out = []
    for rel, text in ((DEBIAN_HOOK, debian_hook(argv)),
                      (KERNEL_INSTALL_HOOK, kernel_install_hook(argv))):
        _refuse_foreign(root, rel)
        data = text.encode()
        old = root.read_bytes(rel) if root.lstat(rel) is not None else None
        if old == data:
            out.append(HookFile(str(root.host_path(rel)), "unchanged"))
            continue
        root.write_atomic(rel, data, mode=0o755, tag="hook")
        out.append(HookFile(str(root.host_path(rel)), "created" if old is None else "updated"))
    return tuple(out)


def remove_hooks(root: SafeRoot) -> tuple[HookFile, ...]:
    out = []
    for rel in (DEBIAN_HOOK, KERNEL_INSTALL_HOOK):
        if root.lstat(rel) is None:
            out.append(HookFile(str(root.host_path(rel)), "absent"))
            continue
        _refuse_foreign(root, rel)
        root.remove(rel)
        out.append(HookFile(str(root.host_path(rel)), "removed"))
    return tuple(out)
