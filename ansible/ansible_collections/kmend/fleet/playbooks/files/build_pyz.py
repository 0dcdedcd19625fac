#!/usr/bin/env python3
"""Pack the controller's kmend into one zipapp a host runs with its own python3.

Only pure-Python code goes in: kmend's libraries and pyelftools, with ``kmend.onhost``
(scan, install, rollback, status, doctor; no typer or rich) as the entry point.
capstone, numpy, zstandard and ahocorasick-rs are left out: kmend falls back without them
(no Code: listing, plain line counting, no .ko.zst, bytes.find).  The archive is
reproducible (sorted entries, fixed times), so re-shipping it changes nothing on a host.

    build_pyz.py -o kmend.pyz
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
import zipfile
from pathlib import Path

PACKAGES = ("kmend", "elftools")
OPTIONAL: frozenset[str] = frozenset()
#: kmend parts a host never needs: the CLI, the fleet report, the VM lab and the stages
#: that find, build and sign a fix run on the controller.  What ships must run on the
#: host's python3, 3.9 and later (the on-host verbs import nothing else).
SKIP_DIRS = frozenset({"__pycache__", "cli", "fleetreport", "lab", "backport", "build",
                       "fixes", "pipeline", "rebuild", "report", "sign", "source"})
#: the oldest python3 of the hosts (Debian 11 and RHEL 9): every packed module must parse
#: as this version, else a host gets the minimum the archive needs as a one-line error
HOST_PYTHON = (3, 9)
MAIN = """import sys
if sys.version_info < {need}:
    sys.stderr.write("kmend: error: kmend.pyz needs python3 >= {text} ({why}); this is "
                     + sys.version.split()[0] + "\\n")
    sys.exit(3)  # the machine lacks what kmend needs
from kmend.onhost import main
sys.exit(main())
"""
STAMP = (2020, 1, 1, 0, 0, 0)


def sources(name: str) -> list[tuple[str, Path]]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        if name in OPTIONAL:
            return []
        raise SystemExit(f"build_pyz: {name} is not importable here")
    origin = Path(spec.origin)
    if origin.name != "__init__.py":  # a single module
        return [(origin.name, origin)]
    top = origin.parent
    out: list[tuple[str, Path]] = []
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top.parent)
        if any(part in SKIP_DIRS for part in rel.parts[1:-1]) or "__pycache__" in rel.parts:
            continue
        if path.is_file() and path.suffix in (".py", ".typed", ".json", ".txt"):
            out.append((rel.as_posix(), path))
        elif path.is_file() and path.suffix in (".so", ".pyd"):
            raise SystemExit(f"build_pyz: {name} is not pure Python ({path.name})")
    return out


def too_new(entries: list[tuple[str, Path]]) -> list[str]:
    """The packed modules a python3 of HOST_PYTHON cannot compile (e.g. match statements)."""
    bad = []
    for arc, path in entries:
        if arc.endswith(".py"):
            try:
                ast.parse(path.read_bytes(), arc, feature_version=HOST_PYTHON)
            except SyntaxError:
                bad.append(arc)
    return bad


def build(out: Path) -> int:
    entries: list[tuple[str, Path]] = []
    for name in PACKAGES:
        entries += sources(name)
    bad = too_new(entries)
    need = HOST_PYTHON if not bad else (3, 10)
    if bad:
        print(f"build_pyz: warning: {', '.join(bad)} need Python >= 3.10: hosts with python3"
              f".{HOST_PYTHON[1]} cannot run this archive (pyelftools 0.33 uses match "
              "statements; pyelftools < 0.33 runs on 3.9)", file=sys.stderr)
    main_py = MAIN.format(need=need, text=".".join(map(str, need)),
                          why=f"{bad[0]} is newer Python" if bad else "kmend's on-host verbs")
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, path in sorted(entries):
            info = zipfile.ZipInfo(arc, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
        info = zipfile.ZipInfo("__main__.py", STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, main_py)
    tmp.replace(out)
    return len(entries)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True, type=Path)
    args = ap.parse_args()
    n = build(args.output)
    print(f"{args.output}: {n} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
