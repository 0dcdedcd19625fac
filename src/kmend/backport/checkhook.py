"""Run ``kmend check`` on a freshly built module (the verdict of kmend.loadcheck).

The same calls as the ``check`` verb with ``--kdir``: the target from the headers tree,
providers of ``depends=`` modules looked up in the target's installed modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmend.kernel.target import KernelTarget
from kmend.ko import read_module
from kmend.loadcheck import LoadVerdict, check_module
from kmend.loadcheck.render import verdict_json, verdict_lines


@dataclass(frozen=True)
class CheckSummary:
    module: str
    will_load: bool
    first_error: str
    verdict: LoadVerdict
    lines: tuple[str, ...]  # what `kmend check` prints for people
    doc: dict[str, Any]  # what `kmend check --json` prints


def check_built(ko_path: Path, kdir: Path, *, siblings: Path | None = None) -> CheckSummary:
    """The load verdict for *ko_path* against the kernel whose build tree is *kdir*;
    ``depends=`` modules are looked up in *siblings* (the project's other modules, built
    with it) when given, else in the target's installed modules."""
    target = KernelTarget.from_kdir(kdir)
    mod = read_module(ko_path)
    verdict = check_module(mod, target, modules_tree=siblings or target.modules_dir)
    first = verdict.first_error
    return CheckSummary(module=str(ko_path), will_load=verdict.will_load,
                        first_error=first.message if first else "", verdict=verdict,
                        lines=tuple(verdict_lines(verdict, mod)),
                        doc=verdict_json(verdict, mod, target))
