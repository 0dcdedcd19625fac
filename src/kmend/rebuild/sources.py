"""Where a fix's sources are found again, in order of trust.

1. The copy kept in the install transaction's directory (``ROOT/var/lib/kmend/txn/ID/
   sources/``), checked against the sha256 the provenance recorded.
2. The directory the module was built from (the provenance's ``sources.dir``), same check.
3. The git repository and full commit the provenance names (``source``,
   ``revision_commit``, ``recipe.kbuild_dir``): every recorded file read at that commit,
   same check (so a generated file that is not in the repository makes this fail).

None of them → the sources are unknown, and ``kmend rebuild`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmend import provenance as pv
from kmend.errors import KmendError
from kmend.install.fsops import SafeRoot
from kmend.install.journal import txn_dir


@dataclass(frozen=True)
class Found:
    files: dict[str, str] | None
    where: str  # where they were read (or, when None, why none could be)


def _recorded(prov: Mapping[str, Any]) -> dict[str, str]:
    entry = prov.get("sources")
    if isinstance(entry, dict) and isinstance(entry.get("files"), dict):
        return {str(k): str(v) for k, v in entry["files"].items()}
    return {}


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts and "" not in parts


def from_transaction(root: SafeRoot, txn_id: str, prov: Mapping[str, Any]) -> Found:
    want = _recorded(prov)
    if not want or not prov.get("sources_kept"):
        return Found(None, "the transaction kept no sources")
    base = f"{txn_dir(txn_id)}/{prov['sources_kept']}"
    out: dict[str, str] = {}
    for rel, sha in want.items():
        if not _safe_rel(rel):
            return Found(None, f"unsafe source path {rel!r} in the provenance")
        try:
            text = root.read_bytes(f"{base}/{rel}").decode("utf-8", "surrogateescape")
        except (FileNotFoundError, KmendError, OSError):
            return Found(None, f"{root.host_path(base)}/{rel} is missing")
        if pv.text_sha256(text) != sha:
            return Found(None, f"{root.host_path(base)}/{rel} differs from the recorded sha256")
        out[rel] = text
    return Found(out, str(root.host_path(base)))


def from_git(prov: Mapping[str, Any]) -> Found:
    from kmend.source.git import GitRepo

    want = _recorded(prov)
    rev = prov.get("revision_commit")
    source = str(prov.get("source") or "")
    recipe = prov.get("recipe") or {}
    if not want or not pv.is_commit(rev) or not source or not Path(source).is_dir():
        return Found(None, "no local git repository and commit recorded")
    kdir = str(recipe.get("kbuild_dir") or "").strip("/")
    try:
        repo = GitRepo.open(Path(source))
        out: dict[str, str] = {}
        for rel, sha in want.items():
            if not _safe_rel(rel):
                return Found(None, f"unsafe source path {rel!r} in the provenance")
            path = f"{kdir}/{rel}" if kdir else rel
            if not repo.file_exists(str(rev), path):
                return Found(None, f"{path} is not in {source} at {str(rev)[:12]}")
            text = repo.show_file(str(rev), path)
            if pv.text_sha256(text) != sha:
                return Found(None, f"{path} at {str(rev)[:12]} differs from the built file")
            out[rel] = text
    except KmendError as exc:
        return Found(None, f"git: {exc.message}")
    return Found(out, f"{source} at {rev}")


def find(root: SafeRoot, txn_id: str, prov: Mapping[str, Any]) -> Found:
    """The fix's source files, from the first place that still has them intact."""
    why: list[str] = []
    got = from_transaction(root, txn_id, prov)
    if got.files is not None:
        return got
    why.append(got.where)
    files, reason = pv.load_sources(prov)
    if files is not None:
        return Found(files, str((prov.get("sources") or {}).get("dir", "")))
    why.append(reason)
    got = from_git(prov)
    if got.files is not None:
        return got
    why.append(got.where)
    return Found(None, "; ".join(why))
