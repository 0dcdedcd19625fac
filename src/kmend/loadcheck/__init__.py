"""The verdict engine: will the target kernel load this .ko, and what will it print."""

from kmend.loadcheck.engine import check_module, same_magic
from kmend.loadcheck.model import ERROR, TAINT, WARNING, Finding, LoadVerdict

__all__ = ["ERROR", "TAINT", "WARNING", "Finding", "LoadVerdict", "check_module", "same_magic"]
