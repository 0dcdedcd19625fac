"""Provenance: where an installed module fix comes from and how to build it again.

One JSON object, the same everywhere: the ``PROVENANCE`` file that ``kmend backport`` and
``kmend build`` write into the module's source directory, the ``--provenance`` file
``kmend install`` takes, and the ``provenance`` of an install transaction (``kmend
status`` shows it, ``kmend rebuild`` reads it).  Keys (every one optional except
``format``; unknown keys are kept)::

    format               "kmend-provenance/1"
    module               the name the kernel loads it as (xen_evtchn)
    kernel               the release it was built for
    source               the source tree, repository (path or URL) or module directory
    source_kind          git | tree | dir
    revision             the revision chosen (a commit, or a label such as base+fix)
    revision_commit      the full 40-hex commit the sources were taken from (or built at)
    fix_commit           the fix, a full 40-hex commit when the source is a repository
    fix_subject
    fix_first_release    the first upstream release containing the fix (v6.2)
    fix_stable_releases  the first stable release of each backport (["v6.1.77"])
    recipe               {"module": Kbuild name, "kbuild_dir": dir in the tree,
                          "make_args": [...], "files": [...]}
    sources              {"dir": the directory built, "files": {relative path: sha256}}
    dkms                 {"package": ..., "version": ..., "autoinstall": bool}
    rebuilt_from         the transaction a ``kmend rebuild`` carried the fix over from

Only pure functions and small file reads live here: no stage library is imported, so
backport, build, install and rebuild can all use it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kmend.errors import InputError

FORMAT = "kmend-provenance/1"
FILENAME = "PROVENANCE"
MAKE_ARGS: tuple[str, ...] = ("modules",)
#: Sources kept with a transaction are bounded: a module's directory, not a kernel tree.
MAX_SOURCES_BYTES = 16 * 1024 * 1024
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


def is_commit(text: object) -> bool:
    return isinstance(text, str) and bool(_SHA1_RE.match(text))


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def sources_entry(directory: Path, files: Mapping[str, str]) -> dict[str, Any]:
    """The ``sources`` value: the directory and the sha256 of each source file's text."""
    return {"dir": str(Path(directory).resolve()),
            "files": {rel: text_sha256(text) for rel, text in sorted(files.items())}}


def make(**fields: Any) -> dict[str, Any]:
    """A provenance object: ``format`` first, then the non-empty *fields* as given."""
    out: dict[str, Any] = {"format": FORMAT}
    for key, value in fields.items():
        if value not in (None, "", [], {}, ()):
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def dumps(prov: Mapping[str, Any]) -> str:
    return json.dumps(prov, indent=2, sort_keys=False, ensure_ascii=True) + "\n"


def parse(text: str, where: str) -> dict[str, Any]:
    """Parse provenance JSON; InputError (exit 4) naming *where* when it is not an object."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"provenance {where} is not JSON: {exc}",
                         'give an object like {"fix_commit": …, "source": …}') from exc
    if not isinstance(data, dict):
        raise InputError(f"provenance {where} must hold a JSON object")
    return data


def read(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read provenance file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"provenance file {path} is not UTF-8 text: {exc.reason}") from exc
    return parse(text, str(path))


def beside(ko: Path, levels: int = 3) -> Path | None:
    """The PROVENANCE file of the directory a built .ko lies in (or of one of its parents
    up to *levels* up: Kbuild puts a module of a subdirectory beside its sources)."""
    here = Path(ko).resolve().parent
    for _ in range(levels):
        cand = here / FILENAME
        if cand.is_file() and not cand.is_symlink():
            return cand
        if here.parent == here:
            break
        here = here.parent
    return None


def load_sources(prov: Mapping[str, Any]) -> tuple[dict[str, str] | None, str]:
    """The source files the provenance names, read from their directory and checked
    against the recorded sha256: (files, "") or (None, why not)."""
    entry = prov.get("sources")
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
        return None, "the provenance records no source files"
    base = Path(str(entry.get("dir", "")))
    if not entry.get("dir") or not base.is_dir():
        return None, f"the source directory {base} is gone"
    out: dict[str, str] = {}
    total = 0
    for rel, sha in entry["files"].items():
        rel = str(rel)
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or "" in parts:
            return None, f"the provenance names an unsafe source path {rel!r}"
        path = base / rel
        if path.is_symlink() or not path.is_file():
            return None, f"{path} is missing"
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            return None, f"cannot read {path}: {exc.strerror}"
        total += len(text)
        if total > MAX_SOURCES_BYTES:
            return None, f"the sources in {base} are larger than {MAX_SOURCES_BYTES} bytes"
        if text_sha256(text) != sha:
            return None, f"{path} changed since the module was built (sha256 differs)"
        out[rel] = text
    if not out:
        return None, "the provenance records no source files"
    return out, ""


def module_name(prov: Mapping[str, Any]) -> str:
    name = prov.get("module") or (prov.get("recipe") or {}).get("module") or ""
    return str(name).replace("-", "_")


def stable_releases(prov: Mapping[str, Any]) -> tuple[str, ...]:
    value = prov.get("fix_stable_releases") or ()
    if isinstance(value, str):
        value = [value]
    return tuple(str(v) for v in value if v)
