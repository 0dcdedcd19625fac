"""A fix installed as a DKMS tree with ``AUTOINSTALL=yes``: DKMS builds it for a new
kernel, kmend verifies the result.

The tree is the directory the provenance's ``sources.dir`` names (``kmend backport -o
/usr/src/NAME-VERSION`` writes a DKMS-ready tree there); its ``dkms.conf`` gives
``PACKAGE_NAME``, ``PACKAGE_VERSION`` and ``AUTOINSTALL``, and DKMS knows it when
``ROOT/var/lib/dkms/NAME/VERSION`` exists.  On an image root DKMS is pointed at the
image's own trees (``--dkmstree/--sourcetree/--installtree``), its signing key
(``mok_signing_key``/``mok_certificate``: the image's ``/var/lib/dkms/mok.key``) and
``--no-depmod`` (kmend runs ``depmod -b ROOT`` itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmend import proc
from kmend.install import modtree
from kmend.install.fsops import SafeRoot
from kmend.install.steps import depmod_argv

DKMS_TIMEOUT = 1800.0
_LINE = re.compile(r'^\s*([A-Z_]+)=["\']?([^"\'\n]*)["\']?\s*$', re.MULTILINE)


@dataclass(frozen=True)
class DkmsTree:
    package: str
    version: str
    autoinstall: bool
    directory: Path | None


def parse_conf(text: str) -> dict[str, str]:
    """The plain ``KEY="value"`` lines of a dkms.conf (arrays and shell code ignored)."""
    return {m[1]: m[2] for m in _LINE.finditer(text)}


def tree_of(prov: Mapping[str, Any]) -> DkmsTree | None:
    """The DKMS tree the fix's sources are, from its dkms.conf (else the provenance)."""
    entry = prov.get("sources")
    directory = Path(str(entry.get("dir"))) if isinstance(entry, dict) and entry.get(
        "dir") else None
    if directory is not None and (directory / "dkms.conf").is_file():
        try:
            conf = parse_conf((directory / "dkms.conf").read_text(errors="replace"))
        except OSError:
            conf = {}
        if conf.get("PACKAGE_NAME") and conf.get("PACKAGE_VERSION"):
            return DkmsTree(conf["PACKAGE_NAME"], conf["PACKAGE_VERSION"],
                            conf.get("AUTOINSTALL", "").lower() == "yes", directory)
    info = prov.get("dkms")
    if isinstance(info, dict) and info.get("package") and info.get("version"):
        return DkmsTree(str(info["package"]), str(info["version"]),
                        bool(info.get("autoinstall")), None)
    return None


def registered(root: SafeRoot, tree: DkmsTree) -> bool:
    if "/" in tree.package or "/" in tree.version or tree.package in (".", ".."):
        return False
    return root.is_dir(f"var/lib/dkms/{tree.package}/{tree.version}")


def built_for(root: SafeRoot, release: str, module: str) -> str | None:
    """The file modules.dep resolves *module* to for *release* when DKMS put it there."""
    got = modtree.resolves_to(root, release, module)
    return got if got is not None and "/dkms/" in f"/{got}" else None


def install_argv(root: SafeRoot, tree: DkmsTree, release: str, kdir: Path) -> list[str]:
    argv = ["dkms", "install", "-m", tree.package, "-v", tree.version, "-k", release,
            "--kernelsourcedir", str(kdir)]
    if not root.is_host:
        argv += ["--dkmstree", str(root.host_path("var/lib/dkms")),
                 "--sourcetree", str(root.host_path("usr/src")),
                 "--installtree", str(root.host_path("lib/modules")), "--no-depmod",
                 "--no-initrd"]
    return argv


def run_install(root: SafeRoot, tree: DkmsTree, release: str, kdir: Path) -> proc.Result:
    """``dkms install`` of the tree for *release* (then depmod, on an image root)."""
    env = {}
    if not root.is_host:
        env = {"mok_signing_key": str(root.host_path("var/lib/dkms/mok.key")),
               "mok_certificate": str(root.host_path("var/lib/dkms/mok.pub"))}
    res = proc.run(install_argv(root, tree, release, kdir), timeout=DKMS_TIMEOUT, check=False,
                   extra_env=env)
    if res.ok and not root.is_host:
        proc.run(depmod_argv(root, release), timeout=600)
    return res
