"""Does the module live in the target kernel's initramfs, and what rebuilds it.

Detection looks at the real image: ``lsinitramfs`` (initramfs-tools) on
``ROOT/boot/initrd.img-R``, or ``lsinitrd`` (dracut) on ``ROOT/boot/initramfs-R.img``,
plus an explicit listing in ``ROOT/etc/initramfs-tools/modules``.  When the module is in
it: with root ``/`` kmend runs ``update-initramfs -u -k R`` (or ``dracut -f --kver R``) after
saving the old image, so a rollback restores it byte for byte; with another root it never
runs the tool there and prints the exact command (through ``chroot``) instead.  When the
contents cannot be listed kmend does not guess: it prints the command for the operator.
"""

from __future__ import annotations

import shutil
import stat

from kmend import proc
from kmend.install.fsops import SafeRoot
from kmend.install.model import InitramfsPlan
from kmend.install.modtree import module_name


def _images(release: str) -> list[tuple[str, str]]:
    return [(f"boot/initrd.img-{release}", "lsinitramfs"),
            (f"boot/initramfs-{release}.img", "lsinitrd")]


def _tool(root: SafeRoot, release: str) -> tuple[str, ...]:
    for rel in ("usr/sbin/update-initramfs", "sbin/update-initramfs"):
        if root.lstat(rel) is not None:
            return ("update-initramfs", "-u", "-k", release)
    for rel in ("usr/bin/dracut", "usr/sbin/dracut", "sbin/dracut"):
        if root.lstat(rel) is not None:
            return ("dracut", "-f", "--kver", release)
    return ()


def _listed_in_config(root: SafeRoot, name: str) -> bool:
    try:
        text = root.read_bytes("etc/initramfs-tools/modules").decode("utf-8", "replace")
    except (FileNotFoundError, NotADirectoryError):
        return False
    for line in text.splitlines():
        word = line.split("#", 1)[0].split()
        if word and word[0].replace("-", "_") == name:
            return True
    return False


def _list_image(root: SafeRoot, rel: str, lister: str) -> list[str] | None:
    if shutil.which(lister) is None:
        return None
    res = proc.run([lister, str(root.host_path(rel))], timeout=300, check=False)
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    return lines or None


def plan_initramfs(root: SafeRoot, release: str, name: str) -> InitramfsPlan:
    image = None
    contents: list[str] | None = None
    lister = ""
    for rel, lister in _images(release):
        st = root.lstat(rel)
        if st is not None and stat.S_ISREG(st.st_mode):
            image = rel
            contents = _list_image(root, rel, lister)
            break
    tool = _tool(root, release)
    in_config = _listed_in_config(root, name)
    if image is None and not in_config:
        return InitramfsPlan(None, False, "none", (), f"no initramfs image for {release}")
    if contents is None and image is not None:
        contains = in_config
        unknown = not in_config
    else:
        contains = in_config or any(
            ln.endswith((".ko", ".ko.xz", ".ko.zst", ".ko.gz")) and module_name(ln) == name
            for ln in contents or [])
        unknown = False
    if not contains and not unknown:
        return InitramfsPlan(image, False, "none", (), f"{name} is not in {image}")
    if not tool:
        return InitramfsPlan(image, contains, "manual", (),
                             "neither update-initramfs nor dracut is installed in the root; "
                             "rebuild the initramfs with the tool that made it")
    why = (f"could not list {image} with {lister}; if {name} is in it, rebuild it"
           if unknown else f"{name} is in the initramfs ({image or 'etc/initramfs-tools/modules'})")
    if root.is_host and not unknown:
        return InitramfsPlan(image, True, "run", tool, why)
    command = tool if root.is_host else ("chroot", str(root.path), *tool)
    return InitramfsPlan(image, contains, "manual", command, why)
