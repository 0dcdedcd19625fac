"""Canonical crash titles: the rules that make a title comparable across runs and hosts.

Addresses, line numbers, offsets, CPU numbers, PIDs and other numbers are replaced by fixed
words, so two hosts hitting the same bug get the same title (syzkaller's convention).
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"syz-executor\d+(?:[/:]\d+)?"), "syz-executor"),
    (re.compile(r"syzkaller\d+(?:[/:]\d+)?"), "syzkaller"),
    (re.compile(r"(?<![A-Za-z0-9])(?:0x)?[0-9a-f]{6,}"), "ADDR"),
    (re.compile(r"(?<![0-9.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![0-9.])"), "IP"),
    (re.compile(r"(\.[a-zA-Z]{1,4}):\d+(?::\d+)?"), r"\1:LINE"),
    (re.compile(r"([A-Za-z0-9_.]+)\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+"), r"\1"),
    (re.compile(r"CPU#\d+"), "CPU"),
    (re.compile(r"(?<=[^\w])\d+(?=[^\w]|$)|^\d+(?=[^\w])"), "NUM"),
    (re.compile(r"\d{7,}"), "NUM"),
)

MAX_TITLE = 120


def canonical_title(title: str) -> str:
    """Apply every replacement rule until nothing changes, then trim to 120 ASCII bytes."""
    for pattern, repl in _RULES:
        while True:
            new = pattern.sub(repl, title)
            if new == title:
                break
            title = new
    title = title.replace("\t", " ")
    title = "".join(ch for ch in title if " " <= ch <= "~")
    title = title[:MAX_TITLE]
    title = re.sub(r" {2,}", " ", title)
    return title.strip()
