from __future__ import annotations

import pytest

from kmend import proc
from kmend.errors import CommandFailed, CommandTimeout, EnvironmentMissing


def test_run_captures_output() -> None:
    res = proc.run(["sh", "-c", "echo out; echo err >&2"], timeout=10)
    assert res.ok and res.stdout == "out\n" and res.stderr == "err\n"


def test_run_raises_on_failure_with_exit_code() -> None:
    with pytest.raises(CommandFailed) as info:
        proc.run(["sh", "-c", "echo nope >&2; exit 3"], timeout=10)
    assert info.value.returncode == 3
    assert "nope" in str(info.value)


def test_run_check_false_returns_result() -> None:
    res = proc.run(["false"], timeout=10, check=False)
    assert res.returncode == 1 and not res.ok


def test_timeout_kills_process_group() -> None:
    with pytest.raises(CommandTimeout):
        proc.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)


def test_missing_program_names_package() -> None:
    with pytest.raises(EnvironmentMissing) as info:
        proc.run(["kmend-no-such-program-xyz"], timeout=5)
    assert info.value.exit_code == 3


def test_arguments_are_never_shell_interpreted(tmp_path) -> None:
    marker = tmp_path / "pwned"
    res = proc.run(["echo", f"$(touch {marker})"], timeout=5)
    assert not marker.exists()
    assert "$(touch" in res.stdout


def test_hostile_bytes_decode_without_error() -> None:
    res = proc.run(["printf", "\\377\\376ok"], timeout=5)
    assert res.stdout.endswith("ok")
