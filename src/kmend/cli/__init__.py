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

import typer
import typer.main

from kmend.cli.app import build_app
from kmend.errors import KmendError

#: Exit code for a bug in kmend itself (never an expected outcome).
EXIT_INTERNAL = 70


def main(argv: Sequence[str] | None = None) -> int:
    """Run kmend with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verb = args[0] if args and not args[0].startswith("-") else None
    command = typer.main.get_command(build_app(only=verb))
    try:
        result = command.main(args=args, prog_name="kmend", standalone_mode=False)
    except KmendError as err:
        print(f"kmend: error: {err}", file=sys.stderr)
        return err.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        # Usage errors (bad option, missing argument): typer's own one-line message.
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            print(f"kmend: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        print("kmend: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("kmend: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("KMEND_DEBUG"):
            raise
        print(
            f"kmend: internal error: {type(exc).__name__}: {exc} "
            "(set KMEND_DEBUG=1 for a traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return int(result) if isinstance(result, int) else 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
