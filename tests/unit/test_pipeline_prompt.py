"""The confirmation prompt of `kmend run`, with injected streams."""

from __future__ import annotations

import io

import pytest

from kmend.errors import Declined, UsageError
from kmend.pipeline.prompt import confirm


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "  YES \n"])
def test_yes_proceeds_and_the_question_is_asked(answer: str) -> None:
    out = io.StringIO()
    confirm("Install x.ko?", Tty(answer), out, assume_yes=False)
    assert out.getvalue() == "Install x.ko? [y/N] "


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "maybe\n", "yess\n"])
def test_anything_else_declines(answer: str) -> None:
    with pytest.raises(Declined) as info:
        confirm("Install x.ko?", Tty(answer), io.StringIO(), assume_yes=False)
    assert info.value.exit_code == 9
    assert "nothing was changed" in str(info.value)


def test_no_terminal_refuses_without_reading() -> None:
    stdin = io.StringIO("y\n")  # not a terminal: even a "y" waiting there is not an answer
    with pytest.raises(UsageError, match="stdin is not a terminal"):
        confirm("Install x.ko?", stdin, io.StringIO(), assume_yes=False)
    assert stdin.read() == "y\n"


def test_assume_yes_asks_nobody() -> None:
    out = io.StringIO()
    confirm("Install x.ko?", io.StringIO(""), out, assume_yes=True)
    assert out.getvalue() == ""
