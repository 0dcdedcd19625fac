#!/usr/bin/env python3
"""Build a git history of drivers/xen from Debian's linux-source-6.1 and -6.12 packages.

    scripts/make-xen-history.py DEST [--linux-6.1 TARBALL] [--linux-6.12 TARBALL]

Used by the replay (tests/vm/test_replay.py) and the integration tests: kmend's fix search
and backport run on real kernel code, with a real compiler and Debian's real headers, and
nothing of the kernel is committed to kmend (the history is made at test time from the
installed tarballs; their drivers/xen is unpacked into ``$KMEND_CACHE``).

The repository (a work tree on ``master``, deterministic commit dates, so the same
tarballs always give the same SHAs)::

    master       v6.1 ─ fault ─ static ─ shared_irq ─ close ─ FIX ─ unbinding ─ desc ─ llseek
                  │                                                               (v6.12)
    linux-6.1.y   └── fault (a backport: "commit <fault> upstream.")
                       (v6.1.170)

* ``v6.1``: Debian's 6.1 drivers/xen as it is (the tarball's version, 6.1.192; the
  history is shaped like upstream's, it is not upstream's).
* ``fault``: the replay's injected fault, one line ``BUG_ON(bind.remote_domain != 0);`` in
  ``IOCTL_EVTCHN_BIND_INTERDOMAIN``: binding a channel of any guest domain — what
  xenstored does when ``xl create`` introduces a guest — hits a kernel BUG.  It is
  backported to ``linux-6.1.y`` and so is in ``v6.1.170``, the upstream base kmend derives
  from Debian's ``6.1.0-47-amd64`` (Debian 6.1.170-3), the kernel the replay's host runs.
* ``static`` … ``llseek``: the six upstream changes between Debian's 6.1 and 6.12
  evtchn.c, cut from the real diff of the two files:
  every changed block of the diff is given to the change whose identifiers it mentions
  (a block mentioning two goes to the later one), so ``llseek`` ends at 6.12's file
  exactly.  ``static`` uses ``IOCTL_EVTCHN_BIND_STATIC`` and the two-argument
  ``evtchn_make_refcounted()``, which 6.1's headers do not have: from there on no revision
  builds against a 6.1 kernel — the founding story's dilemma.
* ``FIX``: removes the fault, with ``Fixes: <fault> ("…")``.  The other files of
  drivers/xen stay at 6.1's version (xen-evtchn is built from evtchn.c alone).

Prints a JSON manifest on stdout: ``{"repo", "roles": {name: {"sha", "subject"}},
"fault_line", "tags"}``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from kmend import proc
from kmend.source.tree import Tarball

EVTCHN = "drivers/xen/evtchn.c"
ANCHOR = "\t\tbind_interdomain.remote_dom  = bind.remote_domain;\n"
INJECTED = "\t\tBUG_ON(bind.remote_domain != 0); /* kmend replay: injected fault */\n"
FAULT_SUBJECT = "xen/evtchn: refuse interdomain binds to guest domains"
FIX_SUBJECT = "xen/evtchn: don't BUG() when a guest domain's channel is bound"

# (role, subject, identifiers that mark the change's blocks in the 6.1 → 6.12 diff)
CHANGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("static", "xen/evtchn: Introduce new IOCTL to bind static evtchn",
     ("is_static", "IOCTL_EVTCHN_BIND_STATIC", "evtchn_bind_to_user(")),
    ("shared_irq", "xen/evtchn: allow shared registration of IRQ handlers", ("IRQF_SHARED",)),
    ("close", "xen/events: close evtchn after mapping cleanup", ("evtchn_close",)),
    ("unbinding", "xen/evtchn: avoid WARN() when unbinding an event channel", ("unbinding",)),
    ("desc", "xen: add missing MODULE_DESCRIPTION() macros", ("MODULE_DESCRIPTION",)),
    ("llseek", "fs: remove no_llseek", ("no_llseek",)),
]
FIX_AFTER = "close"  # the fix lands between the third and the fourth upstream change

AUTHOR = ("kmend history", "history@kmend.invalid")
EPOCH = 1_670_000_000  # December 2022
DAY = 86_400
TIMEOUT = 120.0


def blocks(old: list[str], new: list[str]) -> list[tuple[int, int, list[str], int]]:
    """The changed blocks of old → new: (old start, old end, new lines, change index)."""
    out: list[tuple[int, int, list[str], int]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        text = "".join(old[i1:i2] + new[j1:j2])
        owners = [n for n, (_, _, marks) in enumerate(CHANGES) if any(m in text for m in marks)]
        if not owners:
            raise SystemExit(f"a block of the 6.1 → 6.12 diff of {EVTCHN} belongs to none of "
                             f"the six known changes:\n{text}")
        out.append((i1, i2, new[j1:j2], max(owners)))
    return out


def apply(old: list[str], changed: list[tuple[int, int, list[str], int]], upto: int) -> str:
    """*old* with the blocks of changes 0..upto (inclusive) applied."""
    lines = list(old)
    for i1, i2, repl, owner in reversed(changed):
        if owner <= upto:
            lines[i1:i2] = repl
    return "".join(lines)


def inject(text: str) -> str:
    if text.count(ANCHOR) != 1:
        raise SystemExit(f"{EVTCHN}: the IOCTL_EVTCHN_BIND_INTERDOMAIN anchor changed")
    return text.replace(ANCHOR, INJECTED + ANCHOR)


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.n = 0

    def git(self, *args: str, date: int | None = None) -> str:
        env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
               "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1]}
        if date is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{date} +0000"
        return proc.run(["git", "-C", str(self.path), *args], extra_env=env,
                        timeout=TIMEOUT).stdout

    def commit(self, files: dict[str, str], subject: str, body: str = "") -> str:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.n += 1
        self.git("commit", "-q", "-m", subject + (f"\n\n{body}" if body else ""),
                 date=EPOCH + self.n * 7 * DAY)
        return self.git("rev-parse", "HEAD").strip()


def make_history(dest: Path, src61: Path, src612: Path) -> dict[str, object]:
    """Create the repository at *dest* (must not exist); the manifest."""
    view61 = Tarball(src61).unpack_dirs(["drivers/xen"])
    view612 = Tarball(src612).unpack_dirs(["drivers/xen"])
    old, new = view61.read(EVTCHN), view612.read(EVTCHN)
    if old is None or new is None:
        raise SystemExit(f"{EVTCHN} missing from {src61} or {src612}")
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    changed = blocks(old_lines, new_lines)
    if apply(old_lines, changed, len(CHANGES) - 1) != new:
        raise SystemExit("the six changes do not add up to 6.12's evtchn.c")

    dest.mkdir(parents=True)
    repo = Repo(dest)
    repo.git("init", "-q", "-b", "master")
    roles: dict[str, dict[str, str]] = {}

    def note(role: str, sha: str, subject: str) -> None:
        roles[role] = {"sha": sha, "subject": subject}

    files = {f"drivers/xen/{p.relative_to(view61.root / 'drivers/xen')}": p.read_text()
             for p in sorted((view61.root / "drivers/xen").rglob("*")) if p.is_file()}
    files["Makefile"] = "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\n" \
                        "SUBLEVEL = 0\nEXTRAVERSION =\n"
    subject = f"Linux 6.1 (drivers/xen from Debian's {src61.name})"
    note("v6.1", repo.commit(files, subject), subject)
    repo.git("tag", "v6.1")

    faulty = inject(old)
    fault_body = ("A guest domain's event channel must not be bound from dom0's\n"
                  "/dev/xen/evtchn; assert it.  (kmend's replay: an injected fault.)\n")
    fault = repo.commit({EVTCHN: faulty}, FAULT_SUBJECT, fault_body)
    note("fault", fault, FAULT_SUBJECT)

    repo.git("branch", "linux-6.1.y", "v6.1")
    for n, (role, subj, _) in enumerate(CHANGES):
        text = apply(old_lines, changed, n)
        fixed = roles.get("fix") is not None
        note(role, repo.commit({EVTCHN: text if fixed else inject(text)}, subj), subj)
        if role == FIX_AFTER:
            body = ("Binding an interdomain channel of a guest domain is what xenstored does\n"
                    "for every new guest, so the BUG_ON() kills xenstored and the toolstack\n"
                    "hangs.  Drop the assertion; Xen itself refuses bad binds.\n\n"
                    f"Fixes: {fault[:12]} (\"{FAULT_SUBJECT}\")\nCc: stable@vger.kernel.org\n")
            note("fix", repo.commit({EVTCHN: text}, FIX_SUBJECT, body), FIX_SUBJECT)
    repo.git("tag", "v6.12")

    repo.git("checkout", "-q", "linux-6.1.y")
    body = f"commit {fault} upstream.\n\n{fault_body}"
    note("fault_stable", repo.commit({EVTCHN: faulty}, FAULT_SUBJECT, body), FAULT_SUBJECT)
    repo.git("tag", "v6.1.170")
    repo.git("checkout", "-q", "master")
    fault_line = faulty.splitlines().index(INJECTED.rstrip("\n")) + 1
    return {"repo": str(dest), "roles": roles, "fault_line": fault_line,
            "tags": ["v6.1", "v6.1.170", "v6.12"]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--linux-6.1", dest="src61", type=Path,
                        default=Path("/usr/src/linux-source-6.1.tar.xz"))
    parser.add_argument("--linux-6.12", dest="src612", type=Path,
                        default=Path("/usr/src/linux-source-6.12.tar.xz"))
    args = parser.parse_args(argv)
    if args.dest.exists():
        print(f"{args.dest} exists; give a new directory", file=sys.stderr)
        return 2
    print(json.dumps(make_history(args.dest, args.src61, args.src612), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
