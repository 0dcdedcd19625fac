"""The verdict types: ``Finding`` and ``LoadVerdict``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmend.ko.signature import Verification
    from kmend.loadcheck.enforcement import Enforcement

ERROR = "error"  # the kernel refuses the module
WARNING = "warning"  # the kernel prints it and goes on
TAINT = "taint"  # the kernel prints it and taints itself


@dataclass(frozen=True)
class Finding:
    """One thing the kernel would do while loading the module, in the kernel's order.

    ``message`` is the exact line the kernel prints (without the ``[time]`` prefix) when
    ``kernel`` is true; otherwise it is kmend's own explanation of a silent step (for
    example a refusal the kernel does not explain in dmesg).
    """

    check: str
    severity: str
    message: str
    kernel: bool = True


@dataclass(frozen=True)
class LoadVerdict:
    """Will the target kernel accept the module, and what will it print."""

    will_load: bool
    findings: tuple[Finding, ...]
    taints: str  # taint letters the load adds, in the kernel's letter order ("OE")
    module: str = ""
    release: str = ""
    #: modules the kernel must already have loaded (modprobe loads them; insmod does not)
    needs_loaded: tuple[str, ...] = ()
    #: what to do about it, for people
    hints: tuple[str, ...] = ()
    #: how the target treats an unverifiable signature (sig_enforce, lockdown)
    enforcement: Enforcement | None = None
    #: the signature verified against the trusted certificates (None: not verified)
    signature_check: Verification | None = None

    @property
    def first_error(self) -> Finding | None:
        return next((f for f in self.findings if f.severity == ERROR), None)

    @property
    def kernel_messages(self) -> tuple[str, ...]:
        return tuple(f.message for f in self.findings if f.kernel)
