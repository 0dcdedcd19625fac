"""The oracle matrix: every test module and doctored variant, built against each of three
Debian kernels' headers, loaded for real into each of those kernels under QEMU.  For
every case `kmend check` (static) must agree with the real kernel on loads/refused and
on the first error message, word for word.  Prints the matrix and the agreement.

One boot per (target kernel, build kernel) pair; inside a boot each case is loaded with
kmod's insmod from a file named like the module, unloaded again when it loaded, and its
kernel messages are the dmesg lines of that step only.  Refusal messages are never
"once" messages, so earlier cases in the same boot cannot change them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kmend.kernel.target import KernelTarget
from kmend.ko import read_module
from kmend.lab import BootCase, InitramfsSpec, Insmod, Run, kernel_image, run_many
from kmend.loadcheck import check_module
from kmodbuild import KERNELS, built_modules, kdir_of, need

__all__ = ["built_modules"]  # the session fixture, imported so pytest finds it

pytestmark = pytest.mark.vm

#: load_module()'s refusal printks (kernel/module/{main,version,signing}.c), as patterns:
#: the oracle's first error is the first dmesg line of a case that matches one of them.
REFUSALS = [
    r": disagrees about version of symbol ",
    r": version magic '.*' should be '",
    r": Unknown symbol \S+ \(err -?\d+\)$",
    r": no symbol version for ",
    r"\.gnu\.linkonce\.this_module",
    r": module has no symbols \(stripped\?\)$",
    r": No module found in object$",
    r"^Loading of .* is rejected$",
    r": exports duplicate symbol ",
    r", but does not import it\.$",
    r"^Invalid (ELF|architecture|module architecture)",
    r": module is marked as livepatch module",
]
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in REFUSALS))

#: the cases loaded alone, by label in kmodbuild's build output
SINGLE = ("hello", "badsym", "unexp", "gplonly", "license", "depprov", "needdep", "vm-release",
          "vm-flags", "noversions", "badcrc", "nocrc", "stripped", "nsuser", "nsmissing")


#: kernel/panic.c taint bits -> letters (the ones a module load can set)
TAINT_BITS = {0: "P", 1: "F", 10: "C", 12: "O", 13: "E", 15: "K", 18: "N"}


def taint_letters(value: int) -> str:
    return "".join(sorted((TAINT_BITS.get(b, "?") for b in range(32) if value >> b & 1),
                          key="PFSRMBUDAWCIOELKXTN?".index))


def oracle_first_error(messages: tuple[str, ...]) -> str | None:
    return next((m.strip() for m in messages if _REFUSAL.search(m.strip())), None)


@dataclass(frozen=True)
class Case:
    build: str
    label: str
    step: str  # boot step label
    ko: Path
    tree: Path | None = None  # modules tree for depends= (the pair case)


def stage(base: Path, build: str, label: str, ko: Path) -> Path:
    """Copy *ko* to base/<build>/<label>/<module name>.ko (rmmod uses the file name)."""
    name = read_module(ko).name
    dest = base / build / label / f"{name}.ko"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ko, dest)
    return dest


def short(release: str) -> str:
    return release.replace("-amd64", "").replace("+deb12", "")


def test_oracle_matrix(
    built_modules: dict[str, dict[str, Path]], tmp_path: Path, figure: Callable[[str], None]
) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    for k in KERNELS:
        need(Path(f"/boot/vmlinuz-{k}").is_file(), f"linux-image-{k} not installed")
    cases: dict[tuple[str, str], list[Case]] = {}
    boots = []
    for target in KERNELS:
        for build in KERNELS:
            mods = built_modules[build]
            steps: list[Insmod | Run] = []
            group: list[Case] = []
            for label in SINGLE:
                ko = stage(tmp_path, build, label, mods[label])
                step = f"{label}"
                steps.append(Insmod(step, ko, unload=True))
                group.append(Case(build, label, step, ko))
            # needdep with its dependency loaded first, as modprobe would
            dep = stage(tmp_path, build, "pair-depprov", mods["depprov"])
            need_ko = stage(tmp_path, build, "pair-needdep", mods["needdep"])
            steps += [Insmod("pair-depprov", dep), Insmod("pair-needdep", need_ko, unload=True),
                      Run("pair-cleanup", "rmmod depprov")]
            group.append(Case(build, "needdep+depprov", "pair-needdep", need_ko, tree=dep.parent))
            cases[(target, build)] = group
            boots.append(BootCase(kernel=kernel_image(target), timeout=300,
                                  initramfs=InitramfsSpec(steps=tuple(steps), use_kmod=True),
                                  name=f"{short(target)}<-{short(build)}"))
    results = run_many(boots, jobs=2)
    targets = {k: KernelTarget.from_kdir(kdir_of(k)) for k in KERNELS}

    rows: list[str] = []
    agree = total = 0
    failures: list[str] = []
    for (target, build), result in zip(cases, results, strict=True):
        assert result.release == target, (target, result.console[-3000:])
        for index, case in enumerate(cases[(target, build)]):
            load = result.load(case.step)
            assert load.rc is not None, f"{target} {case.step}: no result\n{result.console[-3000:]}"
            real_loads = load.rc == 0
            real_first = oracle_first_error(load.messages)
            verdict = check_module(read_module(case.ko), targets[target], modules_tree=case.tree)
            first = verdict.first_error
            predicted = first.message if first else None
            ok = verdict.will_load == real_loads and predicted == real_first
            if index == 0 and load.taint_after is not None:
                # the first case of a boot meets a fresh kernel: the taints and every line
                # the module loader printed about this module must be as predicted (other
                # kernel chatter in the window, e.g. "clocksource: Switched to ...", and the
                # module's own printk are not the loader's)
                name = read_module(case.ko).name
                printed = [m.strip() for m in load.messages
                           if m.startswith((f"{name}: ", f"module {name}: "))
                           or m.strip() == "Disabling lock debugging due to kernel taint"]
                ok = (ok and taint_letters(load.taint_after) == verdict.taints
                      and printed == list(verdict.kernel_messages))
            total += 1
            agree += ok
            cell = "loads" if real_loads else (real_first or "refused, no message")
            rows.append(f"{'OK ' if ok else 'XX '} {short(build):>12} {case.label:<16} -> "
                        f"{short(target):<12} {cell}")
            if not ok:
                failures.append(f"{build} {case.label} -> {target}: kernel rc={load.rc} "
                                f"taint={load.taint_after} "
                                f"first={real_first!r} messages={load.messages}; kmend "
                                f"loads={verdict.will_load} first={predicted!r} "
                                f"taints={verdict.taints!r} messages={verdict.kernel_messages}")
    print("\nOracle matrix: built for -> loaded into: what the real kernel did")
    print("\n".join(rows))
    print(f"agreement: {agree}/{total} = {100 * agree / total:.1f}%")
    figure(f"load-check oracle matrix: kmend check agrees with the real kernel in "
           f"{agree}/{total} cases ({100 * agree / total:.1f}%)")
    assert not failures, "\n".join(failures)
