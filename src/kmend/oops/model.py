"""CrashReport and its parts: the contract between triage and the later stages."""

from __future__ import annotations

from dataclasses import field

from kmend._compat import dataclass

#: Field metadata: the integer is a kernel address, written in JSON as a ``0x…`` string.
HEX = {"json": "hex"}


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class TaintFlag:
    letter: str
    meaning: str


@dataclass(frozen=True, slots=True)
class Taint:
    raw: str
    flags: tuple[TaintFlag, ...] = ()


@dataclass(frozen=True, slots=True)
class ProgramCounter:
    function: str | None
    offset: int | None
    size: int | None
    module: str | None
    address: int | None = field(metadata=HEX)
    segment: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    offset: int | None
    size: int | None
    module: str | None
    reliable: bool
    context: str  # "task", "irq", "softirq", "nmi", "exception", ...
    address: int | None = field(default=None, metadata=HEX)


@dataclass(frozen=True, slots=True)
class Instruction:
    offset: int  # byte offset in the Code: bytes
    size: int
    mnemonic: str
    op_str: str
    faulting: bool

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()


@dataclass(frozen=True, slots=True)
class Code:
    bytes: str  # hex string of the Code: bytes
    fault_index: int | None
    instructions: tuple[Instruction, ...] = ()
    arch: str = "x86_64"


@dataclass(frozen=True, slots=True)
class SourceSpan:
    path: str
    first_line: int
    last_line: int


@dataclass(frozen=True, slots=True)
class CrashReport:
    title: str
    alt_titles: tuple[str, ...]
    type: str | None
    corrupted: bool
    location: Location | None
    function: str | None
    module: str | None
    kernel_release: str | None
    taint: Taint | None
    cpu: int | None
    pid: int | None
    comm: str | None
    hardware: str | None
    die_counter: int | None
    pc: ProgramCounter | None
    frames: tuple[Frame, ...]
    code: Code | None
    modules_linked: tuple[str, ...]
    registers: dict[str, str]
    host: str | None
    timestamp: str | None  # wall clock, ISO 8601 (an instant with its offset after triage)
    source: SourceSpan | None
    panicked: bool
    signature: str
    raw: str
    arch: str = "x86_64"
    corrupted_reason: str | None = None
    frame: str | None = None  # the function the title blames
    header: str = ""
    notes: tuple[str, ...] = field(default=())
    #: flags of "Modules linked in" (``{"v4l2loopback": "OE+"}``), modules with flags only
    modules_flags: dict[str, str] = field(default_factory=dict)
    culprit_module: str | None = None  # the module to fix (kmend.oops.culprit)
    culprit_reason: str = ""
    boot_id: str | None = None  # the journal's _BOOT_ID of the crashed boot
    uptime: float | None = None  # printk time of the header: seconds since boot (monotonic)
