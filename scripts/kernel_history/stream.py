"""Write a git history through ``git fast-import`` in a few runs.

Commit messages may name other commits with ``{sha:N}`` / ``{sha12:N}`` placeholders
(N a mark).  Git object ids are only known once fast-import has written the commit, so
the builder flushes the stream (one ``git fast-import`` run, marks exported and imported
again) whenever a message names a mark it has not resolved yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kmend import proc

_PLACEHOLDER = re.compile(r"\{sha(12)?:(\d+)\}")


@dataclass
class Branch:
    name: str
    tip: int | None = None
    files: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # paths this branch removed


class Stream:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.marks_file = repo / "kmt-marks"
        self.chunks: list[bytes] = []
        self.size = 0
        self.next_mark = 1
        self.shas: dict[int, str] = {}
        self.runs = 0

    # -- fast-import ------------------------------------------------------------------
    def flush(self) -> None:
        if not self.chunks:
            return
        args = ["git", "-C", str(self.repo), "fast-import", "--quiet", "--force",
                f"--export-marks={self.marks_file}"]
        if self.marks_file.exists():
            args.append(f"--import-marks={self.marks_file}")
        data = b"".join(self.chunks)
        self.chunks = []
        self.size = 0
        proc.run(args, input=data, timeout=3600)
        self.runs += 1
        for line in self.marks_file.read_text().splitlines():
            mark, sha = line.split()
            self.shas[int(mark[1:])] = sha

    def _resolve(self, text: str) -> str:
        needed = {int(m[2]) for m in _PLACEHOLDER.finditer(text)}
        if any(m not in self.shas for m in needed):
            self.flush()

        def sub(m: re.Match[str]) -> str:
            sha = self.shas[int(m[2])]
            return sha[:12] if m[1] else sha

        return _PLACEHOLDER.sub(sub, text)

    def _emit(self, text: str) -> None:
        data = text.encode()
        self.chunks.append(data)
        self.size += len(data)
        if self.size > 64 << 20:
            self.flush()

    @staticmethod
    def _data(text: str) -> str:
        return f"data {len(text.encode())}\n{text}"

    # -- commands -----------------------------------------------------------------------
    def commit(
        self,
        branch: Branch,
        message: str,
        changes: dict[str, str | None],
        *,
        when: int,
        author: str,
        merge: Branch | None = None,
    ) -> int:
        """Commit *changes* (path → content, None deletes) on *branch*; returns its mark."""
        message = self._resolve(message)
        mark = self.next_mark
        self.next_mark += 1
        ops: list[str] = []
        if merge is not None:
            for path, content in merge.files.items():
                if branch.files.get(path) != content:
                    changes.setdefault(path, content)
            for path in merge.deleted:
                if path in branch.files:
                    changes.setdefault(path, None)
        for path, content in sorted(changes.items()):
            if content is None:
                ops.append(f"D {path}\n")
                branch.files.pop(path, None)
                branch.deleted.add(path)
            else:
                ops.append(f"M 100644 inline {path}\ndata {len(content.encode())}\n{content}")
                branch.files[path] = content
        head = f"commit refs/heads/{branch.name}\nmark :{mark}\n"
        head += f"author {author} {when} +0000\ncommitter {author} {when} +0000\n"
        head += self._data(message) + "\n"
        if branch.tip is not None:
            head += f"from :{branch.tip}\n"
        if merge is not None and merge.tip is not None:
            head += f"merge :{merge.tip}\n"
        self._emit(head + "".join(ops) + "\n")
        branch.tip = mark
        return mark

    def tag(self, name: str, mark: int, *, when: int, tagger: str, message: str) -> None:
        self._emit(f"tag {name}\nfrom :{mark}\ntagger {tagger} {when} +0000\n"
                   f"{self._data(message)}\n")

    def reset(self, ref: str, mark: int) -> None:
        self._emit(f"reset {ref}\nfrom :{mark}\n")

    def sha(self, mark: int) -> str:
        if mark not in self.shas:
            self.flush()
        return self.shas[mark]
