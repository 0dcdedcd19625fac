"""The KmendError family.

Every error the user can meet carries one line saying what is wrong, a hint saying what
to do, and the process exit code the CLI returns for it.  Library code raises these and
never calls ``sys.exit``; the CLI prints ``str(err)`` and returns ``err.exit_code``.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """*text* on one line: line breaks escaped (an error may quote untrusted input, such as
    a name read from a corrupt file)."""
    if "\n" in text or "\r" in text:
        return text.replace("\r", "\\r").replace("\n", "\\n")
    return text


class KmendError(Exception):
    """Base class: a user-facing error with a hint and an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        message, hint = one_line(message), one_line(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message


class UsageError(KmendError):
    """The command line or an argument is wrong (exit 2)."""

    exit_code = 2


class InputError(KmendError):
    """An input file (log, .ko, headers tree…) is unreadable or malformed (exit 4)."""

    exit_code = 4


class EnvironmentMissing(KmendError):
    """Something the machine must provide is absent: headers, git, a tool, root (exit 3)."""

    exit_code = 3


class CommandFailed(KmendError):
    """An external command ran and failed (exit 5)."""

    exit_code = 5

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class CommandTimeout(CommandFailed):
    """An external command exceeded its timeout and was killed (exit 6)."""

    exit_code = 6


class StateError(KmendError):
    """The system or a journal is in a state the operation cannot proceed from (exit 7)."""

    exit_code = 7


class NotInSource(InputError):
    """The crashed module (or its source file) is not in the given source (exit 8)."""

    exit_code = 8


class Declined(KmendError):
    """The operator answered no at a confirmation prompt; nothing was changed (exit 9)."""

    exit_code = 9
