"""Kernel configuration and the vermagic string it implies (include/linux/vermagic.h)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def parse_config(lines: Iterable[str]) -> dict[str, str]:
    """Parse .config / auto.conf / /boot/config-R text into {CONFIG_X: value}."""
    out: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("CONFIG_"):
            continue
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value.strip('"') if value.startswith('"') else value
    return out


def enabled(config: Mapping[str, str], name: str) -> bool:
    return config.get(name) in {"y", "m"}


def compose_vermagic(release: str, config: Mapping[str, str], randstruct_seed: str = "") -> str:
    """VERMAGIC_STRING for *release* and *config*, as the kernel's vermagic.h builds it.

    ``UTS_RELEASE " "`` + ``"SMP "`` + ``"preempt "``/``"preempt_rt "`` + ``"mod_unload "``
    + ``"modversions "`` + MODULE_ARCH_VERMAGIC (empty on x86_64) + ``RANDSTRUCT_<seed>``.
    Kernels before CONFIG_PREEMPT_BUILD existed (v5.14) keyed "preempt " on CONFIG_PREEMPT.
    """
    parts = [release + " "]
    if enabled(config, "CONFIG_SMP"):
        parts.append("SMP ")
    if "CONFIG_PREEMPT_BUILD" in config:
        if enabled(config, "CONFIG_PREEMPT_BUILD"):
            parts.append("preempt ")
        elif enabled(config, "CONFIG_PREEMPT_RT"):
            parts.append("preempt_rt ")
    elif enabled(config, "CONFIG_PREEMPT_RT"):
        parts.append("preempt_rt ")
    elif enabled(config, "CONFIG_PREEMPT"):
        parts.append("preempt ")
    if enabled(config, "CONFIG_MODULE_UNLOAD"):
        parts.append("mod_unload ")
    if enabled(config, "CONFIG_MODVERSIONS"):
        parts.append("modversions ")
    if randstruct_seed:
        parts.append("RANDSTRUCT_" + randstruct_seed)
    return "".join(parts)
