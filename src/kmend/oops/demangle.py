"""Demangle the Rust and C++ symbol names that kernel stacks print.

Rust code in the kernel (``rust/``, ``drivers/android/binder``, Rust drivers) is compiled with
the v0 mangling scheme (``_RNvMs3_NtCs..._11rust_binder7processNtB5_7Process10update_ref``);
older toolchains and some crates use the legacy scheme, an Itanium-shaped name ending in a
``17h<16 hex digits>E`` hash (``_ZN4core9panicking9panic_fmt17h0123456789abcdefE``).  C++ names
(``_ZN3Foo3barEv``) appear in out-of-tree modules and in user-space helpers.  A crash title
names the function a person would write, so each is shown in the form rustc-demangle's
alternate mode and ``c++filt -p`` use: paths joined by ``::``, no crate hashes, no
parameter types (``<rust_binder::process::Process>::update_ref``, ``core::panicking::panic_fmt``,
``Foo::bar``).

Only the subset of each grammar that kernel symbols use is read (Rust v0 paths with impl,
trait-impl, closure and generic parts and their types; Itanium plain and nested names with
constructors and destructors, no templates or substitutions).  A name outside that subset, or a
malformed one, is returned unchanged: demangling never fails a parse.
"""

from __future__ import annotations

import re

_MAX_DEPTH = 64
_LEGACY_HASH_RE = re.compile(r"^h[0-9a-f]{16}$")
_LEGACY_ESCAPES = {
    "$SP$": "@", "$BP$": "*", "$RF$": "&", "$LT$": "<", "$GT$": ">", "$LP$": "(",
    "$RP$": ")", "$C$": ",",
}
_BASIC = {
    "a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32", "h": "u8",
    "i": "isize", "j": "usize", "l": "i32", "m": "u32", "n": "i128", "o": "u128", "s": "i16",
    "t": "u16", "u": "()", "v": "...", "x": "i64", "y": "u64", "z": "!", "p": "_",
}


class _Bad(Exception):
    """The name is outside the supported grammar."""


def demangle(name: str) -> str:
    """The readable form of *name*, or *name* itself when it is not a mangled symbol."""
    try:
        if name.startswith("_R"):
            return _V0(name).symbol()
        if name.startswith("_ZN") and name.endswith("E"):
            legacy = _legacy_rust(name)
            if legacy is not None:
                return legacy
        if name.startswith("_Z"):
            return _itanium(name)
    except (_Bad, IndexError, ValueError, RecursionError):
        return name
    return name


# -- Rust legacy ------------------------------------------------------------------------------


def _legacy_rust(name: str) -> str | None:
    pos, parts = 3, []
    while pos < len(name) and name[pos] != "E":
        m = re.match(r"\d+", name[pos:])
        if m is None:
            raise _Bad(name)
        n = int(m.group())
        pos += len(m.group())
        parts.append(name[pos : pos + n])
        pos += n
    if pos != len(name) - 1 or not parts or not _LEGACY_HASH_RE.match(parts[-1]):
        return None  # an Itanium C++ name, not Rust
    return "::".join(_unescape_legacy(p) for p in parts[:-1])


def _unescape_legacy(part: str) -> str:
    if part.startswith("_$"):
        part = part[1:]
    out = part.replace("..", "::")
    for code, text in _LEGACY_ESCAPES.items():
        out = out.replace(code, text)
    return re.sub(r"\$u([0-9a-f]{2,6})\$", lambda m: chr(int(m.group(1), 16)), out)


# -- Rust v0 ------------------------------------------------------------------------------------


class _V0:
    def __init__(self, name: str) -> None:
        self.s = name
        self.start = 2  # backrefs count from just after "_R"
        self.pos = 2
        self.depth = 0

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise _Bad(self.s)
        self.pos += 1
        return ch

    def eat(self, ch: str) -> bool:
        if self.peek() == ch:
            self.pos += 1
            return True
        return False

    def symbol(self) -> str:
        while self.peek().isdigit():  # encoding version
            self.pos += 1
        out = self.path()
        # an instantiating crate (and a vendor suffix such as ".llvm.123") may follow
        return out

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        value = 0
        while not self.eat("_"):
            ch = self.take()
            if ch.isdigit():
                digit = ord(ch) - ord("0")
            elif ch.islower():
                digit = ord(ch) - ord("a") + 10
            elif ch.isupper():
                digit = ord(ch) - ord("A") + 36
            else:
                raise _Bad(self.s)
            value = value * 62 + digit
        return value + 1

    def disambiguator(self) -> None:
        if self.eat("s"):
            self.base62()

    def ident(self) -> str:
        self.disambiguator()
        punycode = self.eat("u")
        m = re.match(r"0|[1-9]\d*", self.s[self.pos :])
        if m is None:
            raise _Bad(self.s)
        n = int(m.group())
        self.pos += len(m.group())
        self.eat("_")
        text = self.s[self.pos : self.pos + n]
        if len(text) != n:
            raise _Bad(self.s)
        self.pos += n
        if punycode:
            raise _Bad(self.s)  # non-ASCII identifiers do not occur in kernel symbols
        return text

    def backref(self, parse: str) -> str:
        target = self.start + self.base62()
        if target >= self.pos:
            raise _Bad(self.s)
        saved = self.pos
        self.pos = target
        out = self.path() if parse == "path" else self.type_()
        self.pos = saved
        return out

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Bad(self.s)

    def path(self, in_type: bool = False) -> str:
        """A path; *in_type*: generic arguments print as ``T<A>`` (types), not ``f::<A>``."""
        self.enter()
        try:
            tag = self.take()
            if tag == "C":
                return self.ident()
            if tag == "M":
                self.disambiguator()
                self.path()  # the impl's own path (module) is not shown
                return f"<{self.type_()}>"
            if tag == "X":
                self.disambiguator()
                self.path()
                ty = self.type_()
                return f"<{ty} as {self.path(True)}>"
            if tag == "Y":
                ty = self.type_()
                return f"<{ty} as {self.path(True)}>"
            if tag == "N":
                ns = self.take()
                parent = self.path(in_type)
                name = self._ns_ident(ns)
                return f"{parent}::{name}"
            if tag == "I":
                base = self.path(in_type)
                args = []
                while not self.eat("E"):
                    args.append(self.generic_arg())
                joiner = "" if in_type else "::"
                return f"{base}{joiner}<{', '.join(a for a in args if a)}>"
            if tag == "B":
                return self.backref("type" if in_type else "path")
            raise _Bad(self.s)
        finally:
            self.depth -= 1

    def _ns_ident(self, ns: str) -> str:
        index = 0
        if self.eat("s"):
            index = self.base62() + 1
        name = self.ident()
        if ns.isupper():
            kind = {"C": "closure", "S": "shim"}.get(ns, ns)
            return f"{{{kind}:{name}#{index}}}" if name else f"{{{kind}#{index}}}"
        return name

    def generic_arg(self) -> str:
        if self.eat("L"):
            self.base62()
            return ""  # lifetimes are not shown
        if self.eat("K"):
            return self.const()
        return self.type_()

    def const(self) -> str:
        if self.eat("p"):
            return "_"
        if self.eat("B"):
            target = self.start + self.base62()
            saved = self.pos
            self.pos = target
            out = self.const()
            self.pos = saved
            return out
        ty = self.take()
        negative = self.eat("n")
        digits = ""
        while not self.eat("_"):
            digits += self.take()
        value = int(digits, 16) if digits else 0
        if ty == "b":
            return "true" if value else "false"
        if ty == "c":
            return repr(chr(value))
        return f"{'-' if negative else ''}{value}"

    def type_(self) -> str:
        self.enter()
        try:
            ch = self.peek()
            if ch in _BASIC:
                self.pos += 1
                return _BASIC[ch]
            if ch == "B":
                self.pos += 1
                return self.backref("type")
            if ch in "CMXYNI":
                return self.path(True)
            self.pos += 1
            if ch in "RQ":
                if self.eat("L"):
                    self.base62()
                return ("&" if ch == "R" else "&mut ") + self.type_()
            if ch in "PO":
                return ("*const " if ch == "P" else "*mut ") + self.type_()
            if ch == "A":
                inner = self.type_()
                return f"[{inner}; {self.const()}]"
            if ch == "S":
                return f"[{self.type_()}]"
            if ch == "T":
                items = []
                while not self.eat("E"):
                    items.append(self.type_())
                return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
            if ch == "F":
                if self.eat("G"):
                    self.base62()
                self.eat("U")
                if self.eat("K") and not self.eat("C"):
                    self.ident()
                params = []
                while not self.eat("E"):
                    params.append(self.type_())
                ret = self.type_()
                return f"fn({', '.join(params)})" + ("" if ret == "()" else f" -> {ret}")
            if ch == "D":
                if self.eat("G"):
                    self.base62()
                bounds = []
                while not self.eat("E"):
                    bound = self.path()
                    while self.eat("p"):
                        self.ident()
                        self.type_()
                    bounds.append(bound)
                if self.eat("L"):
                    self.base62()
                return "dyn " + " + ".join(bounds)
            raise _Bad(self.s)
        finally:
            self.depth -= 1


# -- Itanium C++ ---------------------------------------------------------------------------------


def _itanium(name: str) -> str:
    """``_ZN3Foo3barEv`` → ``Foo::bar``; ``_Z3foov`` → ``foo`` (no parameter types)."""
    s, pos = name, 2
    if s.startswith("_ZL", 0):
        pos = 3  # internal linkage
    parts: list[str] = []
    if s[pos] == "N":
        pos += 1
        while s[pos] in "rVKRO":  # cv- and ref-qualifiers of a member function
            pos += 1
        if s.startswith("St", pos):
            parts.append("std")
            pos += 2
        while s[pos] != "E":
            pos = _itanium_component(s, pos, parts)
        return "::".join(parts)
    if s.startswith("St", pos):
        parts.append("std")
        pos += 2
    pos = _itanium_component(s, pos, parts)
    if pos < len(s) and s[pos] == "I":
        raise _Bad(s)  # a template function: outside the subset
    return "::".join(parts)


def _itanium_component(s: str, pos: int, parts: list[str]) -> int:
    ch = s[pos]
    if ch.isdigit():
        m = re.match(r"\d+", s[pos:])
        assert m is not None
        n = int(m.group())
        pos += len(m.group())
        ident = s[pos : pos + n]
        if len(ident) != n:
            raise _Bad(s)
        parts.append("(anonymous namespace)" if ident.startswith("_GLOBAL__N") else ident)
        return pos + n
    if ch == "C" and s[pos + 1] in "12345":
        if not parts:
            raise _Bad(s)
        parts.append(parts[-1])
        return pos + 2
    if ch == "D" and s[pos + 1] in "0125":
        if not parts:
            raise _Bad(s)
        parts.append("~" + parts[-1])
        return pos + 2
    if ch == "L":  # internal-linkage marker inside a nested name
        return pos + 1
    raise _Bad(s)
