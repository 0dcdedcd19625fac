"""Reading kernel module files (.ko, .ko.xz, .ko.zst, .ko.gz): ELF sections read with struct."""

from kmend.ko.model import ExportedSymbol, ModuleFile, ModuleSignature, UndefinedSymbol
from kmend.ko.reader import parse_module, read_module

__all__ = [
    "ExportedSymbol",
    "ModuleFile",
    "ModuleSignature",
    "UndefinedSymbol",
    "parse_module",
    "read_module",
]
