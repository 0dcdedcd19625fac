"""``kmend report`` rendered by a real browser (Debian's headless chromium).

The logs are real crashes of tests/data/crashmod (6.1 and 6.12 kernels), their syslog
host names set to three hosts, and one copy with hostile text written into the crash (a
``<script>``, an ``<img onerror>``, markup in the host name).  The expected signatures
come from ``kmend scan --json`` on the same logs; what the page shows is read from the DOM
chromium built (``--dump-dom``), so a page that only looked right as text would fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, need

pytestmark = pytest.mark.integration

CRASHES = REPO / "tests/data/crashes"
HOSTILE_LINE = ("<script>document.title='pwned'</script>"
                "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">")
HOSTILE_HOST = "<b>evil</b>"


def chromium_dom(page: Path, profile: Path) -> str:
    """The DOM chromium builds for *page* (headless, offline, a fresh profile)."""
    exe = shutil.which("chromium")
    need(exe, "chromium not installed (Debian package chromium)")
    assert exe is not None
    profile.mkdir(parents=True, exist_ok=True)
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "<html" in res.stdout, res.stderr[-2000:]
    return res.stdout


class Dom(HTMLParser):
    """Elements (tag, attrs) and the text inside elements of a given class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, str]] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag not in ("br", "img", "meta", "line", "circle", "path", "rect", "input"):
            self.stack.append((tag, a.get("class") or ""))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for _, cls in self.stack:
            for c in cls.split():
                self.text.setdefault(c, []).append(data)


def parse(html: str) -> Dom:
    d = Dom()
    d.feed(html)
    return d


def run_kmend(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "kmend", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def as_host(src: Path, host: str, dst: Path, extra: str | None = None) -> None:
    """*src* (rsyslog format, host ``web-lab01``) with the syslog host set to *host*;
    *extra* is logged by the kernel right after ``crashmod: triggering``."""
    out = []
    for line in src.read_text().splitlines():
        out.append(line.replace(" web-lab01 kernel: ", f" {host} kernel: "))
        if extra and "crashmod: triggering" in line:
            stamp = line.split(" ", 1)[0]
            out.append(f"{stamp} {host} kernel: {extra}")
    dst.write_text("\n".join(out) + "\n")


@pytest.fixture(scope="module")
def fleet_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("fleet-logs")
    k61, k612 = CRASHES / "6.1.0-47-amd64", CRASHES / "6.12.117+deb12-amd64"
    as_host(k61 / "bug.rsyslog.log", "web1", logs / "web1-bug.log")
    as_host(k61 / "bug.rsyslog.log", "web2", logs / "web2-bug.log")
    as_host(k612 / "bug.rsyslog.log", "db1", logs / "db1-bug.log")
    as_host(k61 / "null.rsyslog.log", "web2", logs / "web2-null.log", HOSTILE_LINE)
    as_host(k61 / "warn.rsyslog.log", HOSTILE_HOST, logs / "evil-warn.log", HOSTILE_LINE)
    as_host(k612 / "gpf.rsyslog.log", "db1", logs / "db1-gpf.log")
    return logs


def test_rendered_index_shows_every_scan_group(fleet_logs: Path, tmp_path: Path) -> None:
    scan = run_kmend("scan", "--json", str(fleet_logs))
    assert scan.returncode == 0, scan.stderr
    groups = json.loads(scan.stdout)["groups"]
    assert len(groups) >= 4  # bug (6.1 and 6.12 may fold or not), null, warn, gpf
    out = tmp_path / "report"
    rep = run_kmend("report", str(fleet_logs), "-o", str(out), "--json")
    assert rep.returncode == 0, rep.stderr
    index = Path(json.loads(rep.stdout)["index"])
    dom = parse(chromium_dom(index, tmp_path / "profile"))
    rows = [a for tag, a in dom.elements if tag == "tr" and "sig" in (a.get("class") or "")]
    assert sorted(a["data-signature"] or "" for a in rows) == sorted(
        g["signature"] for g in groups)
    titles = [t.strip() for t in dom.text.get("title", []) if t.strip()]
    assert sorted(titles) == sorted(g["title"] for g in groups)
    counts = [int(t) for t in dom.text.get("count", []) if t.strip()]
    assert sorted(counts) == sorted(g["count"] for g in groups)
    hosts_cells = " ".join(dom.text.get("hosts", []))
    for g in groups:
        for h in g["hosts"]:
            assert h in hosts_cells
    # every signature has its page, and the link works from the rendered index
    links = {a.get("href") for tag, a in dom.elements if tag == "a"}
    for g in groups:
        assert f"sig-{g['signature']}.html" in links
        assert (out / f"sig-{g['signature']}.html").is_file()


def test_log_text_never_becomes_markup(fleet_logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    rep = run_kmend("report", str(fleet_logs), "-o", str(out), "--json")
    assert rep.returncode == 0, rep.stderr
    pages = [Path(p) for p in json.loads(rep.stdout)["pages"]] + [out / "index.html"]
    seen_hostile = False
    for i, page in enumerate(pages):
        html = chromium_dom(page, tmp_path / f"profile{i}")
        dom = parse(html)
        tags = {tag for tag, _ in dom.elements}
        assert "script" not in tags and "img" not in tags and "b" not in tags, page
        assert not any(k.startswith("on") for _, a in dom.elements for k in a), page
        assert not any("data-pwned" in a for _, a in dom.elements), page
        raw = "".join(dom.text.get("raw", []))
        if HOSTILE_LINE in raw:
            seen_hostile = True
        if HOSTILE_HOST in "".join(dom.text.get("hosts", [])):
            seen_hostile = True
    assert seen_hostile, "the hostile text should be shown, as text"
    title = parse(chromium_dom(out / "index.html", tmp_path / "pt")).text
    assert "pwned" not in "".join(title.get("title", []))


def test_report_rejects_a_file_as_output(fleet_logs: Path, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    rep = run_kmend("report", str(fleet_logs), "-o", str(target))
    assert rep.returncode == 4
    assert "Traceback" not in rep.stderr
    assert rep.stderr.count("\n") == 1


def test_report_bad_txn_dirs_are_one_line(fleet_logs: Path, tmp_path: Path) -> None:
    missing = run_kmend("report", str(fleet_logs), "-o", str(tmp_path / "r1"), "--txn",
                        f"web1={tmp_path / 'nope'}")
    assert missing.returncode == 4 and missing.stderr.count("\n") == 1
    fake = tmp_path / "web1/var/lib/kmend/txn/x"
    fake.mkdir(parents=True)
    (fake / "journal.json").write_text('{"not": "a journal"}')
    bad = run_kmend("report", str(fleet_logs), "-o", str(tmp_path / "r2"), "--txn",
                    f"web1={tmp_path / 'web1'}")
    assert bad.returncode == 4 and bad.stderr.count("\n") == 1
    assert "Traceback" not in missing.stderr + bad.stderr
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
