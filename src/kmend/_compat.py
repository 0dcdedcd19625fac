"""What the on-host verbs need from Python 3.10/3.11, for a fleet host's python3.9.

kmend itself targets Python 3.11, but the fleet ships the libraries behind
``kmend.onhost`` (logs, oops, install, doctor, ko, loadcheck) to hosts that run them with
their distribution's python3, which is 3.9 on Debian 11 and RHEL 9 and 3.10 on Ubuntu
22.04.  Those modules take ``StrEnum``, ``UTC``, ``dataclass`` and ``zip_strict`` from
here: on 3.11 they are the standard library's own; on older Pythons a stand-in that
behaves the same for kmend's uses (``slots=``/``kw_only=`` are dropped before 3.10:
an object without slots is only larger, and kmend passes every kw_only field by name).
Type checkers always see the 3.11 names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

T = TypeVar("T")
U = TypeVar("U")

if TYPE_CHECKING:
    from dataclasses import dataclass
    from datetime import UTC
    from enum import StrEnum
else:
    import dataclasses
    import datetime
    import enum

    UTC = getattr(datetime, "UTC", datetime.timezone.utc)  # noqa: UP017 - 3.9 has no datetime.UTC

    if hasattr(enum, "StrEnum"):
        StrEnum = enum.StrEnum
    else:

        class StrEnum(str, enum.Enum):  # noqa: UP042 - 3.9/3.10 have no StrEnum
            """enum.StrEnum of 3.11: members are their str values (str(), format())."""

            __str__ = str.__str__
            __format__ = str.__format__

            @staticmethod
            def _generate_next_value_(name, start, count, last_values):
                return name.lower()

    if "slots" in dataclasses.dataclass.__kwdefaults__:
        dataclass = dataclasses.dataclass
    else:

        def dataclass(cls=None, /, **kwargs):
            kwargs.pop("slots", None)
            kwargs.pop("kw_only", None)
            if cls is None:
                return dataclasses.dataclass(**kwargs)
            return dataclasses.dataclass(cls, **kwargs)


def zip_strict(a: Iterable[T], b: Iterable[U]) -> Iterator[tuple[T, U]]:
    """``zip(a, b, strict=True)``: pairs, and ValueError if one runs out before the other."""
    try:
        return zip(a, b, strict=True)
    except TypeError:  # Python 3.9: zip() takes no keywords
        return _zip_checked(a, b)


def _zip_checked(a: Iterable[T], b: Iterable[U]) -> Iterator[tuple[T, U]]:
    ib = iter(b)
    for x in a:
        try:
            y = next(ib)
        except StopIteration:
            raise ValueError("zip_strict: the second iterable is shorter") from None
        yield x, y
    for _ in ib:
        raise ValueError("zip_strict: the first iterable is shorter")


__all__ = ["UTC", "StrEnum", "dataclass", "zip_strict"]
