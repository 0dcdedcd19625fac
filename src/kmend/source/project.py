"""Is a source a kernel tree or an out-of-tree module project, and where does it build?

An out-of-tree module project (a DKMS package: v4l2loopback, xone, evdi, a vendor NIC
driver) has its own ``Makefile``/``Kbuild`` that ``make -C KDIR M=DIR modules`` reads,
usually a ``dkms.conf``, and possibly lives in a subdirectory (``module/``, ``src/``).
A kernel tree has ``Kconfig`` and ``arch/`` at its top.  The rules, first match wins:

1. ``Kconfig`` and ``arch/`` at the top: a kernel tree (not a project);
2. a ``dkms.conf`` (the shallowest): a project rooted there;
3. a ``Kbuild``/``Makefile`` declaring ``obj-m`` whose directory's ``Makefile`` calls
   Kbuild out of tree (``M=`` or ``SUBDIRS=``): a project rooted there;
4. otherwise not a project.

The build directory is the shallowest directory at or under the root whose ``Kbuild`` or
``Makefile`` declares ``obj-m`` (else the root).  The module names a project declares
literally (``BUILT_MODULE_NAME[i]`` of dkms.conf, ``name.o`` words of ``obj-m`` lines,
``name-y``/``name-objs`` stems) say whether the crashed module is this project's; names
set through make variables are known only once make has built them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kmend.source.git import GitRepo

_OBJM_RE = re.compile(r"^\s*obj-m\s*[:+?]?=\s*(?P<val>.*)$", re.MULTILINE)
#: ``obj-m`` or ``obj-$(CONFIG_X)`` naming a module through a variable: ``$(MODULE_NAME).o``
_VAR_OBJ_RE = re.compile(r"^\s*obj-(?:m|\$\(\w+\))\s*[:+?]?=.*\$[({]\w+[)}]\.o\b",
                         re.MULTILINE)
_COMPOSITE_RE = re.compile(r"^\s*(?P<stem>[A-Za-z0-9_\-]+)-(?:y|objs)\s*[:+?]?=", re.MULTILINE)
_OOT_CALL_RE = re.compile(r"\b(?:M|SUBDIRS)\s*=")
_DKMS_NAME_RE = re.compile(r"^\s*BUILT_MODULE_NAME\[\d+\]\s*=\s*\"?(?P<name>[^\"\s]+)\"?",
                           re.MULTILINE)
_DKMS_PKG_RE = re.compile(r"^\s*PACKAGE_NAME\s*=\s*\"?(?P<name>[^\"\s]+)\"?", re.MULTILINE)
_RESERVED = {"obj", "lib", "ccflags", "asflags", "ldflags", "subdir-ccflags", "always",
             "extra", "hostprogs", "targets", "clean-files", "EXTRA_CFLAGS"}
MAKEFILES = ("Kbuild", "Makefile")
SOURCE_SUFFIXES = (".c", ".h", ".S")
MAX_PROJECTS = 64  # dkms.conf files considered in one repository


def _norm(name: str) -> str:
    return name.replace("-", "_")


@dataclass(frozen=True, slots=True)
class Project:
    """An out-of-tree module project inside a repository (at one revision)."""

    root: str  # "" for the repository top, else e.g. "module"
    build_dir: str  # where make -C KDIR M=… runs (root or below)
    why: str  # which rule found it, in words
    dkms_conf: str | None  # repository path of its dkms.conf
    name: str  # PACKAGE_NAME, else the build directory's (or repository's) name
    modules: tuple[str, ...]  # module names declared literally, as written
    sources: tuple[str, ...]  # repository paths of its .c/.h/.S files
    named_by_make: bool = False  # some module name is a make variable ($(MODULE_NAME).o)

    def declares(self, module: str) -> bool:
        return _norm(module) in {_norm(m) for m in self.modules}

    def under(self, path: str) -> bool:
        return not self.root or path == self.root or path.startswith(self.root + "/")


def _dir(path: str) -> str:
    return posixpath.dirname(path)


def _depth(path: str) -> int:
    return path.count("/")


def _objm_names(text: str) -> list[str]:
    names: list[str] = []
    joined = re.sub(r"\\\n", " ", text)
    for m in _OBJM_RE.finditer(joined):
        names += [w[:-2] for w in m.group("val").split() if w.endswith(".o") and "$" not in w]
    names += [m.group("stem") for m in _COMPOSITE_RE.finditer(joined)
              if m.group("stem") not in _RESERVED and "$" not in m.group("stem")]
    return names


def is_kernel_top(names: Iterable[str]) -> bool:
    """Whether the top-level *names* are a kernel tree's (``Kconfig`` and ``arch/``)."""
    top = set(names)
    return "Kconfig" in top and "arch" in top


def detect(paths: Sequence[str], read: Callable[[str], str | None], *,
           label: str = "", module: str | None = None) -> Project | None:
    """The module project among *paths* (every file of one revision), or None (a kernel
    tree, or no module build at all).  *read* returns a file's text.  A repository holding
    several projects (one ``dkms.conf`` per driver) gives the one declaring *module* when
    one does, else the shallowest."""
    if is_kernel_top({p.split("/", 1)[0] for p in paths}):
        return None
    makefiles = sorted((p for p in paths if posixpath.basename(p) in MAKEFILES),
                       key=lambda p: (_depth(p), p))
    texts = {p: read(p) or "" for p in makefiles}
    objm = [p for p in makefiles if _OBJM_RE.search(texts[p])]
    dkms = sorted((p for p in paths if posixpath.basename(p) == "dkms.conf"),
                  key=lambda p: (_depth(p), p))
    roots: list[tuple[str, str, str | None]] = [
        (_dir(d), f"{d} (a DKMS package)", d) for d in dkms]
    if not roots:
        for p in objm:
            mk = posixpath.join(_dir(p), "Makefile") if _dir(p) else "Makefile"
            if _OOT_CALL_RE.search(texts.get(mk, "")):
                roots.append((_dir(p), f"{p} declares obj-m and {mk} runs Kbuild out of "
                              "tree (M=)", None))
    found = [_project(root, why, conf, paths, texts=texts, objm=objm, read=read, label=label)
             for root, why, conf in roots[:MAX_PROJECTS]]
    if not found:
        return None
    if module is not None:
        for project in found:
            if project.declares(module):
                return project
    return found[0]


def _project(root: str, why: str, conf: str | None, paths: Sequence[str], *,
             texts: dict[str, str], objm: list[str], read: Callable[[str], str | None],
             label: str) -> Project:
    inside = [p for p in objm if not root or p.startswith(root + "/")]
    build_dir = _dir(inside[0]) if inside else root
    if inside:
        why += f"; {inside[0]} declares obj-m"
    names: list[str] = []
    for p in inside:
        names += _objm_names(texts[p])
    dkms_text = read(conf) if conf else None
    pkg = None
    if dkms_text:
        pm = _DKMS_PKG_RE.search(dkms_text)
        pkg = pm.group("name") if pm and "$" not in pm.group("name") else None
        for m in _DKMS_NAME_RE.finditer(dkms_text):
            name = m.group("name").replace("$PACKAGE_NAME", pkg or "").replace(
                "${PACKAGE_NAME}", pkg or "")
            if name and "$" not in name:
                names.append(name)
    name = pkg or posixpath.basename(build_dir or root) or label or "module"
    sources = tuple(p for p in paths if p.endswith(SOURCE_SUFFIXES)
                    and (not root or p.startswith(root + "/")))
    in_root = [p for p in texts if not root or p.startswith(root + "/")]
    by_make = any(_VAR_OBJ_RE.search(re.sub(r"\\\n", " ", texts[p])) for p in in_root)
    return Project(root=root, build_dir=build_dir, why=why, dkms_conf=conf, name=name,
                   modules=tuple(dict.fromkeys(names)), sources=sources,
                   named_by_make=by_make)


def project_at(repo: GitRepo, rev: str, *, label: str = "",
               module: str | None = None) -> Project | None:
    """:func:`detect` on the tree of *rev*."""
    from kmend.source.git import read_blobs

    top = repo.git("ls-tree", "-z", "--name-only", rev).stdout.split("\0")
    if is_kernel_top(top):
        return None  # no Makefile is read (a blobless kernel clone would fetch thousands)
    paths = repo.git("ls-tree", "-r", "-z", "--name-only", rev).stdout.split("\0")
    paths = [p for p in paths if p]
    wanted = [p for p in paths if posixpath.basename(p) in (*MAKEFILES, "dkms.conf")]
    blobs = read_blobs(repo, [f"{rev}:{p}" for p in wanted])
    texts = {p: blobs.get(f"{rev}:{p}") for p in wanted}
    return detect(paths, texts.get, label=label, module=module)
