"""Command-line entry point: ``main(argv) -> int``.

The CLI is a thin layer: each verb lives in its own module under ``kmend.cli`` and turns
arguments into library calls and library results into text or JSON.  Errors from the
library (:class:`~kmend.errors.KmendError`) become one line on stderr and the error's
exit code; nothing here lets a Python traceback reach the user.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from kmend.cli.app import VERBS, top_help

#: Exit code for a bug in kmend itself (never an expected outcome).
EXIT_INTERNAL = 70
#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

#: Error kinds by exit code, for the JSON error document.
_KINDS = {1: "verdict", 2: "usage", 3: "environment", 4: "input", 5: "command", 6: "timeout",
          7: "state", 8: "not-in-source", 9: "declined", 70: "internal", 130: "interrupted"}


def _json_mode(args: list[str]) -> bool:
    return "--json" in args[: args.index("--")] if "--" in args else "--json" in args


def _fail(code: int, message: str, hint: str, *, json_mode: bool) -> int:
    """Report an error: one line on stderr; with --json also one document on stdout."""
    print(f"kmend: error: {message}" + (f" — {hint}" if hint else ""), file=sys.stderr)
    if json_mode:
        from kmend.cli.common import emit_error_json

        emit_error_json(code, _KINDS.get(code, "error"), message, hint)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run kmend with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    json_mode = _json_mode(args)
    try:
        if not args:
            sys.stderr.write(top_help())
            return 2
        if args[0] in ("-h", "--help"):
            sys.stdout.write(top_help())
            return 0
        if args[0] in ("-V", "--version"):
            from kmend import __version__

            sys.stdout.write(f"kmend {__version__}\n")
            return 0
        if args[0].startswith("-"):
            return _fail(2, f"unknown option {args[0]!r} before the verb",
                         "kmend VERB [OPTIONS]; kmend -h lists the verbs", json_mode=json_mode)
        if args[0] not in VERBS:
            return _fail(2, f"unknown verb {args[0]!r}",
                         "one of: " + ", ".join(VERBS), json_mode=json_mode)
        return _run_verb(args, json_mode)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted", "", json_mode=json_mode)
    except BaseException as exc:
        if not _pipe_closed(exc):
            raise
        # The reader went away (`kmend show ... | head -1`): what it read was what it wanted.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _pipe_closed(exc: BaseException) -> bool:
    """A write to a closed stdout that did not go through kmend.cli.common (which sends
    the rest to /dev/null and lets the verb finish): nothing more can be done then."""
    return isinstance(exc, BrokenPipeError)


#: The parser's words for a value of the wrong type, as people say them (no Python type
#: names in what kmend prints).
_TYPE_WORDS = {"is not a valid int.": "is not a whole number.",
               "is not a valid integer.": "is not a whole number.",
               "is not a valid float.": "is not a number.",
               "is not a valid int range.": "is not a whole number."}


def _plain_types(message: str) -> str:
    for words, plain in _TYPE_WORDS.items():
        message = message.replace(words, plain)
    return message


def _shell_lines(example: str, width: int = 70) -> list[str]:
    """*example* cut into shell lines (joined by `` \\``) that fit 80 columns with the
    help's indent; an option stays on the line of its value."""
    words: list[str] = []
    for token in example.split(" "):
        if words and words[-1].startswith("-") and " " not in words[-1] \
                and not token.startswith("-"):
            words[-1] += " " + token
        else:
            words.append(token)
    lines = [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def _polish_help(command: Any) -> None:
    """Usage lines in the argparse convention (``--kernel KERNEL``, ``PATHS...``) instead of
    Python type names (``<str>``, ``{paths}``): a metavar for every parameter without one.
    (Duck-typed: Typer carries its own copy of click.)"""
    from kmend.cli.app import EXAMPLES

    commands = getattr(command, "commands", None)
    for cmd in commands.values() if isinstance(commands, dict) else [command]:
        if cmd.name in EXAMPLES and not cmd.epilog:
            lines = _shell_lines(EXAMPLES[cmd.name])
            cmd.epilog = "\b\nExample:\n  " + " \\\n      ".join(lines)
        for param in getattr(cmd, "params", []):
            if param.metavar is not None or getattr(param, "is_flag", False) \
                    or getattr(param, "count", False):
                continue
            name = (param.name or "value").upper()
            if param.param_type_name == "argument":
                name += "..." if param.nargs == -1 else ""
                shown = name if param.required else f"[{name}]"
                # Typer's own rendering adds braces and "<list[str]>": show the plain name.
                param._usage_display_name = lambda shown=shown: shown
                param.get_usage_pieces = lambda ctx=None, shown=shown: [shown]
                param.display_type_rich = lambda ctx=None: ""
                param._rich_display_name = lambda name=name: name
            param.metavar = name


#: Verbs that end in well under a second: no progress display is even loaded.
_NO_PROGRESS = frozenset({"check", "status", "recover", "rollback"})


def _run_verb(args: list[str], json_mode: bool) -> int:
    import typer
    import typer.main

    from kmend.cli.app import build_app
    from kmend.cli.common import DOCUMENT_STARTED
    from kmend.errors import KmendError

    DOCUMENT_STARTED[0] = False  # this run's document (main may run again in one process)
    try:
        if args[0] not in _NO_PROGRESS:
            from kmend.cli.progressbar import enable

            enable(json_mode)
        command = typer.main.get_command(build_app(only=args[0]))
        _polish_help(command)
        result = command.main(args=args, prog_name="kmend", standalone_mode=False)
    except KmendError as err:
        return _fail(err.exit_code, err.message, err.hint, json_mode=json_mode)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        # Usage errors (bad option, missing argument): one line, exit 2.
        code = int(getattr(exc, "exit_code", 2))
        fmt = getattr(exc, "format_message", None)
        message = _plain_types(fmt() if callable(fmt) else str(exc))
        return _fail(code, message, f"kmend {args[0]} -h shows the options",
                     json_mode=json_mode)
    except typer.Abort:
        return _fail(EXIT_INTERRUPTED, "aborted", "", json_mode=json_mode)
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as exc:
        # (before the BaseException clause: the first matching clause wins, and every
        # Exception is a BaseException)
        if os.environ.get("KMEND_DEBUG"):
            raise
        return _fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc}",
                     "set KMEND_DEBUG=1 for a traceback and report it", json_mode=json_mode)
    except BaseException as exc:
        if _pipe_closed(exc):
            raise
        if isinstance(exc, SystemExit):
            return int(exc.code) if isinstance(exc.code, int) else 1
        raise
    return int(result) if isinstance(result, int) else 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
