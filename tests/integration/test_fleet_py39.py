"""The on-host verbs under the python3 of older distributions: 3.9 (Debian 11, RHEL 9) and
3.10 (Ubuntu 22.04), run ``-I -S`` from the zipapp the playbook builds, give the same
documents as the controller's Python; and every module of the zipapp compiles and imports
under 3.9 (the guard against a 3.10+/3.11+ construct on the host path).

Expected values come from the real log text, the real gcc-built module and ``modinfo``.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from install_support import K61, build_module, make_root, snapshot

pytestmark = pytest.mark.integration

BUILD_PYZ = REPO / "ansible/ansible_collections/kmend/fleet/playbooks/files/build_pyz.py"
CRASH = REPO / "tests/data/crashes/6.1.0-47-amd64/bug.rsyslog.log"
#: modules the zipapp holds that no on-host verb imports: ``python -m kmend`` (the CLI is
#: not shipped) and the preflight that boots the lab's VMs on the controller
NOT_ON_HOST = ("kmend.__main__", "kmend.loadcheck.preflight")


#: The older distributions' own interpreters, unpacked by scripts/test.sh
#: (scripts/older-pythons.sh): Debian 11's 3.9, Ubuntu 22.04's 3.10, Ubuntu 20.04's 3.8 —
#: what such hosts really run, and what a fresh Debian 12 can have without pyenv.
DISTRO_PYTHONS = REPO / ".venv/pythons"
#: Where they are looked for next: pyenv's versions ($PYENV_ROOT, by default ~/.pyenv),
#: then PATH.
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
WHERE = f"under {DISTRO_PYTHONS} (scripts/older-pythons.sh), {PYENV_VERSIONS} or on PATH"


def _interpreter(version: str) -> str | None:
    found = sorted(glob.glob(f"{DISTRO_PYTHONS}/*/usr/bin/python{version}"))
    if found:
        return found[-1]
    found = sorted(glob.glob(f"{PYENV_VERSIONS}/{version}*/bin/python{version}"))
    if found:
        return found[-1]
    on_path = shutil.which(f"python{version}")
    return on_path if on_path and "/shims/" not in on_path else None


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def _need(version: str, pyz: Path) -> str:
    path = _interpreter(version)
    if path is None:
        _missing(f"no python{version} {WHERE}")
    assert path is not None
    main = zipfile.ZipFile(pyz).read("__main__.py").decode()
    if version == "3.9" and "< (3, 9)" not in main:
        from importlib.metadata import version as installed

        _missing(f"pyelftools {installed('pyelftools')} here uses Python 3.10 syntax, so the "
                 "zipapp cannot serve 3.9 hosts (pyproject pins pyelftools < 0.33)")
    return path


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "kmend.pyz"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    subprocess.run([sys.executable, str(BUILD_PYZ), "-o", str(out)], check=True, env=env,
                   timeout=120, capture_output=True)
    return out


def run(python: str, pyz: Path, *args: str, ok: tuple[int, ...] = (0,)) -> Any:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    res = subprocess.run([python, "-I", "-S", str(pyz), *args], capture_output=True,
                         text=True, timeout=300, env=env, check=False)
    assert res.returncode in ok, res.stderr
    assert "Traceback" not in res.stderr
    return json.loads(res.stdout)


def _modules(pyz: Path) -> list[str]:
    out = []
    for name in zipfile.ZipFile(pyz).namelist():
        if not name.endswith(".py") or name == "__main__.py":
            continue
        mod = name[:-3].replace("/", ".").removesuffix(".__init__")
        if mod not in NOT_ON_HOST:
            out.append(mod)
    return out


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_every_zipapp_module_compiles_and_imports(pyz: Path, version: str) -> None:
    python = _need(version, pyz)
    names = zipfile.ZipFile(pyz).namelist()
    script = (
        "import sys, zipfile, importlib\n"
        "z = zipfile.ZipFile(sys.argv[1])\n"
        "bad = []\n"
        "for n in z.namelist():\n"
        "    if n.endswith('.py'):\n"
        "        try: compile(z.read(n), n, 'exec')\n"
        "        except SyntaxError as e: bad.append(f'{n}: {e}')\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "for m in sys.argv[2:]:\n"
        "    try: importlib.import_module(m)\n"
        "    except Exception as e: bad.append(f'{m}: {type(e).__name__}: {e}')\n"
        "print('\\n'.join(bad))\n"
    )
    res = subprocess.run([python, "-I", "-S", "-c", script, str(pyz), *_modules(pyz)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
    assert len([n for n in names if n.startswith("kmend/")]) > 50  # the real package went in


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_scan_and_doctor_match_the_controller(pyz: Path, tmp_path: Path, version: str) -> None:
    python = _need(version, pyz)
    root = tmp_path / "root"
    log = root / "var/log/kern.log"
    log.parent.mkdir(parents=True)
    lines = CRASH.read_text().splitlines()
    log.write_text("\n".join(lines) + "\n")
    first = lines[0].split(" ", 1)[0]  # RFC 3339 time of the capture's first line
    last = lines[-1].split(" ", 1)[0]
    old = run(python, pyz, "scan", "--root", str(root))
    assert old == run(sys.executable, pyz, "scan", "--root", str(root))
    assert old["count"] == 1 and old["files"] == [str(log)]
    assert old["reports"][0]["location"]["line"] == 42  # crashmod.c's BUG() line
    assert old["reports"][0]["kernel_release"] == "6.1.0-47-amd64"
    for since, count in ((first, 1), (last, 0)):
        got = run(python, pyz, "scan", "--root", str(root), "--since", since)
        assert got == run(sys.executable, pyz, "scan", "--root", str(root), "--since", since)
        assert got["count"] == count
    zulu = first.replace("+00:00", "Z")  # the form --since's usage hint shows
    assert zulu.endswith("Z")
    assert run(python, pyz, "scan", "--root", str(root), "--since", zulu)["count"] == 1
    sick = run(python, pyz, "doctor", "--root", str(root), ok=(1,))
    assert sick["healthy"] is False and len(sick["crashes"]) == 1
    assert sick == run(sys.executable, pyz, "doctor", "--root", str(root), ok=(1,))


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_install_status_rollback(pyz: Path, tmp_path: Path, version: str) -> None:
    python = _need(version, pyz)
    ko = build_module(K61, name="kmendfleet")
    sha = hashlib.sha256(ko.read_bytes()).hexdigest()
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)

    plan = run(python, pyz, "install", str(ko), "--root", str(root), "--dry-run")
    ref = run(sys.executable, pyz, "install", str(ko), "--root", str(root), "--dry-run")
    assert plan["diff"] == ref["diff"] and plan["steps"] == ref["steps"]
    assert plan["diff"]["after"] == {"sha256": sha, "vermagic": vermagic}
    assert snapshot(root) == before

    done = run(python, pyz, "install", str(ko), "--root", str(root))
    assert done["changed"] is True and done["transaction"]["state"] == "committed"
    assert done["reboot_required"] is True
    installed = root / "lib/modules" / K61 / "updates/kmend/kmendfleet.ko"
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == sha
    again = run(python, pyz, "install", str(ko), "--root", str(root))
    assert again["changed"] is False and again["transaction"]["id"] == done["transaction"]["id"]

    status = run(python, pyz, "status", "--root", str(root))
    assert status == run(sys.executable, pyz, "status", "--root", str(root))
    assert status["status"]["kernels"][0]["fixes"][0]["sha256"] == sha

    back = run(python, pyz, "rollback", "--root", str(root))
    assert back["changed"] is True and back["transaction"]["state"] == "rolled-back"
    assert snapshot(root) == before


def test_older_python_gets_one_line_error(pyz: Path, tmp_path: Path) -> None:
    python = _interpreter("3.8")
    if python is None:
        _missing(f"no python3.8 {WHERE}")
    assert python is not None
    res = subprocess.run([python, "-I", "-S", str(pyz), "status", "--root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 3  # README: what the machine must provide is absent
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "needs python3 >= 3." in res.stderr and "3.8." in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_compat_stand_ins_behave_like_311(version: str) -> None:
    python = _interpreter(version)
    if python is None:
        _missing(f"no python{version} {WHERE}")
    assert python is not None
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from kmend._compat import UTC, StrEnum, dataclass, zip_strict\n"
        "class Mode(StrEnum):\n"
        "    OVERRIDE = 'override'\n"
        "@dataclass(frozen=True, slots=True, kw_only=True)\n"
        "class P:\n"
        "    a: int\n"
        "try:\n"
        "    list(zip_strict([1, 2], [3]))\n"
        "    short = 'no error'\n"
        "except ValueError:\n"
        "    short = 'ValueError'\n"
        "print(json.dumps([str(Mode.OVERRIDE), f'{Mode.OVERRIDE}', Mode('override').name,\n"
        "                  json.dumps(Mode.OVERRIDE), P(a=1).a, UTC.utcoffset(None).seconds,\n"
        "                  list(zip_strict('ab', 'cd')), short]))\n"
    )
    res = subprocess.run([python, "-I", "-S", "-c", script, str(REPO / "src")],
                         capture_output=True, text=True, timeout=120, check=True)
    # what Python 3.11's enum.StrEnum, datetime.UTC and zip(strict=True) give
    assert json.loads(res.stdout) == ["override", "override", "OVERRIDE", '"override"', 1, 0,
                                      [["a", "c"], ["b", "d"]], "ValueError"]


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_scan_of_every_log_form_matches_the_controller(
    pyz: Path, tmp_path: Path, version: str
) -> None:
    """The reader's other forms on a fleet host's older Python: journalctl's verbose and
    json-pretty records, RFC 5424, dmesg -x with colour, UTF-16, and console lines a web
    archive ran onto one line.  Each finds the crash, as the controller's Python does."""
    from fuzzing import format_seeds

    python = _need(version, pyz)
    example = (REPO / "examples" / "w-xen09-messages.log").read_text()
    dmesg = (REPO / "tests/data/crashes/6.1.0-47-amd64/bug.dmesg.log").read_text()
    forms = [*format_seeds(example), (" ".join(dmesg.splitlines()) + "\n").encode()]
    paths = []
    for i, data in enumerate(forms):
        path = tmp_path / f"form{i}.log"
        path.write_bytes(data)
        paths.append(str(path))
    got = run(python, pyz, "scan", *paths)
    assert got == run(sys.executable, pyz, "scan", *paths)
    found = {Path(r["source"]["path"]).name for r in got["reports"]}
    assert found == {Path(p).name for p in paths}, found
