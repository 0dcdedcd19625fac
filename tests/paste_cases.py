"""The pasted-log evaluation set (tests/data/pasted): crash logs users pasted in public
threads, each described by its facts.

One case per file::

    url: <the thread it was pasted in>
    arch: amd64 | arm64 | arm | riscv64 | mips     (for syzparse; default amd64)
    debris: <what the paste carries besides kernel lines: a description>
    strip: <regex>       removed from the start of every kept line (repeatable, in order)
    drop: <regex>        lines matching it are not kernel lines (prose, fences, prompts)
    syzkaller: <title>   what syzkaller's parser names on the cleaned lines ("" = no crash)
    title: <title>       the expected title when it differs from syzkaller's, with
    why: <reason>        why kmend is right and syzkaller is not
    ---
    <the paste, exactly as pasted>

or, instead of ``strip``/``drop``, a hand-cleaned copy: ``--- clean`` (the kernel lines)
then ``--- raw`` (the paste).

The cleaning here is deliberately simple and per case (written by hand for each paste), and
independent of kmend: it is how the oracle's input is made, not a second implementation of
kmend's normalisation.  The held-back split is every third case (``held``): rules are
written looking only at the other cases' misses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "pasted"
KEYS = ("url", "arch", "debris", "strip", "drop", "syzkaller", "title", "why")


@dataclass
class Case:
    path: Path
    number: int
    meta: dict[str, list[str]] = field(default_factory=dict)
    raw: str = ""
    hand_clean: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def held(self) -> bool:
        """Every third case is held back (not looked at while writing rules)."""
        return self.number % 3 == 0

    @property
    def arch(self) -> str:
        return self.meta.get("arch", ["amd64"])[0]

    @property
    def syzkaller(self) -> str | None:
        got = self.meta.get("syzkaller")
        return got[0] if got else None

    @property
    def expected(self) -> str:
        """The expected title ("" for no crash)."""
        if "title" in self.meta:
            return self.meta["title"][0]
        return self.syzkaller or ""

    def clean(self) -> str:
        """The kernel lines of the paste, by this case's own hand-written rules."""
        if self.hand_clean is not None:
            return self.hand_clean
        drops = [re.compile(p) for p in self.meta.get("drop", [])]
        strips = [re.compile(p) for p in self.meta.get("strip", [])]
        out: list[str] = []
        for line in self.raw.split("\n"):
            if any(d.search(line) for d in drops):
                continue
            for rx in strips:
                m = rx.match(line)
                if m:
                    line = line[m.end():]
            out.append(line)
        return "\n".join(out)


def _parse(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---")
    assert sep, f"{path}: no --- separator"
    case = Case(path, int(path.name.split("-", 1)[0]))
    for line in head.split("\n"):
        key, colon, value = line.partition(": ")
        if not colon and line.endswith(":"):
            key, value = line[:-1], ""
        assert key in KEYS, f"{path}: unknown key {key!r}"
        case.meta.setdefault(key, []).append(value)
    if body.startswith(" clean\n"):
        clean, sep, raw = body[len(" clean\n"):].partition("\n--- raw\n")
        assert sep, f"{path}: --- clean without --- raw"
        case.hand_clean, case.raw = clean, raw
    else:
        case.raw = body[1:] if body.startswith("\n") else body
    return case


def load_cases() -> list[Case]:
    return [_parse(p) for p in sorted(DATA.glob("*.txt"))]


def syzparse_titles(cases: list[Case], syzparse: Path) -> dict[str, str]:
    """syzkaller's title for each case's cleaned lines ("" when it finds no crash)."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        by_arch: dict[str, list[Case]] = {}
        for case in cases:
            by_arch.setdefault(case.arch, []).append(case)
        for arch, group in by_arch.items():
            files = []
            for case in group:
                f = Path(tmp) / f"{case.name}.log"
                f.write_text(case.clean() + "\n", encoding="utf-8")
                files.append(str(f))
            env = dict(os.environ, ARCH=arch)
            res = subprocess.run(
                [str(syzparse), *files], capture_output=True, text=True, timeout=120, env=env,
                check=True,
            )
            for line in res.stdout.splitlines():
                rec = json.loads(line)
                name = Path(rec["file"]).stem
                out.setdefault(name, rec["title"])  # the first report of the file
    return out
