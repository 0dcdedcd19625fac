#!/usr/bin/env python3
"""Generate a git repository shaped like Linux kernel history, for kmend's fix search.

    scripts/make-kernel-history.py OUT.git [--unrelated N] [--seed S] [--no-commit-graph]

Writes a bare repository with ``git fast-import`` (a handful of runs, not one ``git commit``
per commit) and prints a JSON manifest on stdout: the commits of the two crash stories by
role (sha, subject), the base tag and the crash sites.

Shape: an initial import tagged v3.7; release cycles v3.8 … v3.19, each a merge window of
topic branches merged into ``master`` ("Merge tag 'for-linus-3.N' of git://…"), then
-rc1 … -rc5 tags with fixes straight on master, then the release tag; a few commits after
v3.19 on master; the ``linux-3.10.y`` stable branch from v3.10 with tags v3.10.1 …
v3.10.30, each release carrying backports (``commit <sha> upstream.`` or
``[ Upstream commit <sha> ]``) of mainline commits.  N unrelated commits (default 600)
touch other files (some under drivers/xen/, some with ``Fixes:`` and ``Cc: stable``).
The stand-in sources and the crash stories are in ``scripts/kernel_history/``.

drivers/xen/Makefile (from the initial import on) declares the Kbuild module xen-evtchn
of drivers/xen/evtchn.c, and every version of that stand-in builds into xen-evtchn.ko
against Debian's 6.1 headers except the newest (v3.19's ring resize, which uses the
6.12 form of kvrealloc()): see ``scripts/kernel_history/evtchn.py``.

The repository allows blobless clones when served (uploadpack.allowFilter,
uploadpack.allowAnySHA1InWant).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from kernel_history.scenario import (  # noqa: E402
    EVTCHN,
    GREG,
    INITIAL,
    MAINLINE,
    STABLE_BACKPORTS,
    WIDGET,
    WIDGET_NEW,
    XEN_MAINT,
    Change,
)
from kernel_history.sources import (  # noqa: E402
    EVTCHN_BASE,
    EVTCHN_BUG_LINE,
    EVTCHN_MAKEFILE,
    WIDGET_BASE,
    WIDGET_WARN_LINE,
    evtchn_source,
    widget_source,
)
from kernel_history.stream import Branch, Stream  # noqa: E402

from kmend import proc  # noqa: E402

EVTCHN_KBUILD = "drivers/xen/Makefile"
T0 = 1_350_000_000  # October 2012
DAY = 86_400
CYCLES = [(3, n) for n in range(8, 20)]
RCS = 5
STABLE_TAGS = 30
AUTHORS = [f"{n} <{n.split()[0].lower()}@example.{d}>" for n, d in [
    ("Ada Lovecode", "org"), ("Brian Patchwell", "com"), ("Chen Commit", "net"),
    ("Dana Merge", "org"), ("Emil Rebase", "de"), ("Fatima Bisect", "org"),
    ("Goran Stack", "se"), ("Hana Trace", "jp"), ("Ivo Kconfig", "cz"),
]]
SUBSYS = [
    ("drivers/net/ethernet/kmt", "net: kmt"), ("fs/kmtfs", "kmtfs"), ("mm", "mm"),
    ("drivers/gpu/drm/kmt", "drm/kmt"), ("sound/soc/kmt", "ASoC: kmt"),
    ("drivers/usb/kmt", "usb: kmt"), ("arch/x86/kernel", "x86"), ("kernel/sched", "sched"),
    ("drivers/block/kmt", "block: kmt"), ("net/ipv4", "ipv4"), ("drivers/scsi/kmt", "scsi: kmt"),
    ("drivers/xen", "xen"), ("drivers/xen/xenbus", "xen/xenbus"), ("fs/ext4", "ext4"),
]
VERBS = ["fix", "avoid", "handle", "drop", "add", "use", "convert", "simplify", "document",
         "check", "remove", "rework"]
THINGS = ["a race in probe", "a NULL dereference on resume", "the error path", "a leak on "
          "unload", "the locking in the irq handler", "an off-by-one in the ring index",
          "unused variables", "the debugfs interface", "an overflow check", "a stale comment",
          "the timeout handling", "a use-after-free on close"]


def content(path: str, rev: int) -> str:
    return f"/* {path} (kmt stand-in) */\nstatic int kmt_revision = {rev};\n"


class History:
    def __init__(self, out: Path, unrelated: int, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self.s = Stream(out)
        self.unrelated = unrelated
        # Small trees (ten files a directory) keep fast-import's per-commit tree writes cheap.
        self.paths = [f"{d}/part{i // 10}/file{i}.c" for d, _ in SUBSYS
                      for i in range(max(4, min(150, unrelated // 400)))]
        self.prefix = {f"{d}/": p for d, p in SUBSYS}
        self.rev = 0
        self.roles: dict[str, int] = {}
        self.subjects: dict[str, str] = {}
        self.features: dict[str, frozenset[str]] = dict(INITIAL)
        self.mainline_unrelated: list[tuple[int, str, str, tuple[int, int]]] = []
        self.tags: dict[str, int] = {}
        self.clock = T0

    # -- helpers ------------------------------------------------------------------------
    def tick(self, step: int) -> int:
        self.clock += step
        return self.clock

    def msg_for(self, path: str) -> tuple[str, str]:
        prefix = next(p for d, p in self.prefix.items() if path.startswith(d))
        subject = f"{prefix}: {self.rng.choice(VERBS)} {self.rng.choice(THINGS)}"
        body = f"{subject.split(': ', 1)[1].capitalize()} in {path.rsplit('/', 1)[1]}.\n"
        if prefix.startswith("xen") and self.rng.random() < 0.2:
            body += "Noticed while looking at the evtchn and grant-table paths.\n"
        if self.rng.random() < 0.08:
            fake = "".join(self.rng.choice("0123456789abcdef") for _ in range(12))
            body += f"\nFixes: {fake} (\"{prefix}: {self.rng.choice(THINGS)}\")\n"
        if self.rng.random() < 0.05:
            body += "Cc: stable@vger.kernel.org\n"
        return subject, body

    def trailer(self, author: str) -> str:
        return f"\nSigned-off-by: {author}\n"

    def unrelated_commit(self, branch: Branch, cycle: tuple[int, int], step: int,
                         paths: list[str] | None = None) -> int:
        path = self.rng.choice(paths or self.paths)
        self.rev += 1
        author = self.rng.choice(AUTHORS)
        subject, body = self.msg_for(path)
        mark = self.s.commit(branch, f"{subject}\n\n{body}{self.trailer(author)}",
                             {path: content(path, self.rev)}, when=self.tick(step),
                             author=author)
        if branch.name == "master" or branch.name.startswith("topic/"):
            self.mainline_unrelated.append((mark, path, subject, cycle))
        return mark

    def expand(self, text: str) -> str:
        for role, mark in self.roles.items():
            text = text.replace(f"{{sha12:{role}}}", f"{{sha12:{mark}}}")
            text = text.replace(f"{{sha:{role}}}", f"{{sha:{mark}}}")
            text = text.replace(f"{{subject:{role}}}", self.subjects[role])
        return text

    def story_commit(self, branch: Branch, ch: Change) -> int:
        if ch.path == EVTCHN:
            text = evtchn_source(ch.features)
        elif ch.path in (WIDGET, WIDGET_NEW):
            text = widget_source(ch.features)
        else:
            self.rev += 1
            text = content(ch.path, self.rev)
        message = self.expand(f"{ch.subject}\n\n{ch.body}{self.trailer(ch.author)}")
        if ch.path == EVTCHN and ch.author != XEN_MAINT:
            message += f"Signed-off-by: {XEN_MAINT}\n"
        changes: dict[str, str | None] = {ch.path: text}
        if ch.renamed_from:
            changes[ch.renamed_from] = None
        mark = self.s.commit(branch, message, changes, when=self.tick(600), author=ch.author)
        self.roles[ch.role] = mark
        self.subjects[ch.role] = ch.subject
        self.features[ch.path] = ch.features
        return mark

    def tag(self, name: str, mark: int) -> None:
        self.s.tag(name, mark, when=self.clock + 1, tagger="Linus Example <linus@example.org>",
                   message=f"Linux {name[1:]}\n")
        self.tags[name] = mark

    # -- mainline -----------------------------------------------------------------------
    def mainline(self) -> Branch:
        master = Branch("master")
        files = {p: content(p, 0) for p in self.paths}
        files[EVTCHN] = evtchn_source(INITIAL[EVTCHN])
        files[EVTCHN_KBUILD] = EVTCHN_MAKEFILE
        files[WIDGET] = widget_source(INITIAL[WIDGET])
        mark = self.s.commit(master, "Initial import of the kmt tree\n\nStand-in history "
                             "for kmend's tests.\n", dict(files), when=self.clock,
                             author=AUTHORS[0])
        self.roles["initial"] = mark
        self.subjects["initial"] = "Initial import of the kmt tree"
        self.tag("v3.7", mark)
        per_cycle = max(20, self.unrelated // len(CYCLES))
        for cycle in CYCLES:
            self.cycle(master, cycle, per_cycle)
        for _ in range(5):
            self.unrelated_commit(master, (3, 20), 300)
        return master

    def cycle(self, master: Branch, cycle: tuple[int, int], n: int) -> None:
        version = f"{cycle[0]}.{cycle[1]}"
        step = max(30, (70 * DAY) // (n + 20))
        stories = [c for c in MAINLINE if c.cycle == cycle]
        window = n * 6 // 10
        topic_size = max(5, min(60, window // 6))
        topics = max(2, window // topic_size)
        story_topics = {c.slot for c in stories if not c.slot.startswith("rc")}
        names = [f"topic/{version}-{i}" for i in range(topics)] + sorted(story_topics)
        fork = master.tip
        for name in names:
            topic = Branch(name, tip=fork, files=dict(master.files))
            if name in story_topics:
                for ch in stories:
                    if ch.slot == name:
                        self.unrelated_commit(topic, cycle, step,
                                              [p for p in self.paths if "xen" in p]
                                              if name == "xen" else None)
                        self.story_commit(topic, ch)
                tree = "xen/tip" if name == "xen" else "gregkh/char-misc"
                title = f"Merge tag 'stable/for-linus-{version}-rc0-tag' of " \
                        f"git://git.kernel.org/pub/scm/linux/kernel/git/{tree}"
            else:
                for _ in range(topic_size):
                    self.unrelated_commit(topic, cycle, step)
                title = f"Merge branch '{name}' of git://git.example.org/kmt/{name}"
            self.s.commit(master, f"{title}\n\nPull {name} updates for {version}.\n", {},
                          when=self.tick(step), author="Linus Example <linus@example.org>",
                          merge=topic)
        rest = max(0, n - topics * topic_size)
        self.tag(f"v{version}-rc1", master.tip or 0)
        for rc in range(2, RCS + 2):
            for _ in range(rest // RCS):
                self.unrelated_commit(master, cycle, step)
            for ch in stories:
                if ch.slot == f"rc{rc}":
                    self.story_commit(master, ch)
            self.tag(f"v{version}-rc{rc}" if rc <= RCS else f"v{version}", master.tip or 0)

    # -- stable -------------------------------------------------------------------------
    def stable(self, base_mark: int) -> Branch:
        stable = Branch("linux-3.10.y", tip=base_mark,
                        files=self.snapshot_at_v310())
        pool = [u for u in self.mainline_unrelated if u[3] > (3, 10)]
        per_release = min(100, max(3, self.unrelated // 2000))
        self.clock = T0 + 200 * DAY
        for n in range(1, STABLE_TAGS + 1):
            for role, at, style in STABLE_BACKPORTS:
                if at == n:
                    self.backport(stable, role, style)
            for _ in range(per_release):
                mark, path, subject, _cycle = self.rng.choice(pool)
                self.rev += 1
                body = (f"commit {{sha:{mark}}} upstream.\n\n"
                        f"Backport of the upstream change to {path}.\n"
                        f"\nSigned-off-by: {self.rng.choice(AUTHORS)}\n"
                        f"Signed-off-by: {GREG}\n")
                self.s.commit(stable, f"{subject}\n\n{body}", {path: content(path, self.rev)},
                              when=self.tick(DAY), author=self.rng.choice(AUTHORS))
            bump = self.s.commit(stable, f"Linux 3.10.{n}\n",
                                 {"Makefile": f"VERSION = 3\nPATCHLEVEL = 10\nSUBLEVEL = {n}\n"},
                                 when=self.tick(DAY), author=GREG)
            self.tag(f"v3.10.{n}", bump)
        return stable

    def snapshot_at_v310(self) -> dict[str, str]:
        # The stable branch starts from v3.10's tree; only the two story files matter for
        # the merges the builder computes, so track them precisely.
        return {EVTCHN: evtchn_source(self.features_at_v310(EVTCHN)),
                WIDGET: widget_source(self.features_at_v310(WIDGET))}

    @staticmethod
    def features_at_v310(path: str) -> frozenset[str]:
        feats = INITIAL[path]
        for ch in MAINLINE:
            if ch.path == path and ch.cycle <= (3, 10):
                feats = ch.features
        return feats

    def backport(self, stable: Branch, role: str, style: str) -> None:
        ch = next(c for c in MAINLINE if c.role == role)
        current = self.stable_features.get(ch.path, self.features_at_v310(ch.path))
        added = ch.features - self.features_before(ch)
        removed = self.features_before(ch) - ch.features
        feats = (current | added) - removed
        self.stable_features[ch.path] = feats
        text = evtchn_source(feats) if ch.path == EVTCHN else widget_source(feats)
        mark = self.roles[role]
        line = (f"commit {{sha:{mark}}} upstream." if style == "commit"
                else f"[ Upstream commit {{sha:{mark}}} ]")
        body = self.expand(ch.body)
        message = (f"{ch.subject}\n\n{line}\n\n{body}\nSigned-off-by: {ch.author}\n"
                   f"Signed-off-by: {GREG}\n")
        self.roles[f"{role}_stable"] = self.s.commit(
            stable, message, {ch.path: text}, when=self.tick(DAY), author=ch.author)
        self.subjects[f"{role}_stable"] = ch.subject

    @staticmethod
    def features_before(ch: Change) -> frozenset[str]:
        feats = INITIAL[ch.path]
        for c in MAINLINE:
            if c is ch:
                return feats
            if c.path == ch.path:
                feats = c.features
        return feats

    stable_features: dict[str, frozenset[str]] = {}  # noqa: RUF012


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--unrelated", type=int, default=600)
    ap.add_argument("--seed", type=int, default=310)
    ap.add_argument("--no-commit-graph", action="store_true")
    args = ap.parse_args(argv)
    out: Path = args.out.absolute()  # git -C OUT fast-import resolves paths in OUT
    if out.exists():
        shutil.rmtree(out)
    proc.run(["git", "init", "--quiet", "--bare", "-b", "master", str(out)], timeout=60)
    for key, value in [("uploadpack.allowFilter", "true"),
                       ("uploadpack.allowAnySHA1InWant", "true"), ("gc.auto", "0")]:
        proc.run(["git", "-C", str(out), "config", key, value], timeout=60)
    hist = History(out, args.unrelated, args.seed)
    hist.stable_features = {}
    master = hist.mainline()
    hist.stable(hist.tags["v3.10"])
    hist.s.reset("refs/heads/master", master.tip or 0)
    hist.s.flush()
    (out / "kmt-marks").unlink()
    proc.run(["git", "-C", str(out), "symbolic-ref", "HEAD", "refs/heads/master"], timeout=60)
    if not args.no_commit_graph:
        proc.run(["git", "-C", str(out), "commit-graph", "write", "--reachable",
                  "--changed-paths"], timeout=3600)
    count = proc.run(["git", "-C", str(out), "rev-list", "--count", "--all"], timeout=600)
    manifest = {
        "repo": str(out),
        "commits": int(count.stdout.strip()),
        "fast_import_runs": hist.s.runs,
        "base": "v3.10.20",
        "stable_branch": "linux-3.10.y",
        "roles": {role: {"sha": hist.s.shas[mark], "subject": hist.subjects[role]}
                  for role, mark in hist.roles.items()},
        "crashes": {
            "evtchn": {"file": EVTCHN, "line": EVTCHN_BUG_LINE,
                       "function": "evtchn_bind_to_user",
                       "makefile": EVTCHN_KBUILD, "module": "xen-evtchn",
                       "base_text": evtchn_source(EVTCHN_BASE).splitlines()[EVTCHN_BUG_LINE - 1]},
            "widget": {"file": WIDGET, "line": WIDGET_WARN_LINE,
                       "function": "widget_queue_work",
                       "base_text": widget_source(WIDGET_BASE).splitlines()[WIDGET_WARN_LINE - 1]},
        },
    }
    json.dump(manifest, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
