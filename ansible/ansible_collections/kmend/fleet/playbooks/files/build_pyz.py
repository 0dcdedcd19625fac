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
import importlib.util
import sys
import zipfile
from pathlib import Path

PACKAGES = ("kmend", "elftools")
OPTIONAL: frozenset[str] = frozenset()
#: kmend parts a host never needs (the CLI, the fleet report and the VM lab run on the
#: controller).
SKIP_DIRS = frozenset({"__pycache__", "cli", "fleetreport", "lab"})
MAIN = "import sys\nfrom kmend.onhost import main\nsys.exit(main())\n"
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


def build(out: Path) -> int:
    entries: list[tuple[str, Path]] = []
    for name in PACKAGES:
        entries += sources(name)
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
        zf.writestr(info, MAIN)
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
