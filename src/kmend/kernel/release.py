"""Kernel release strings → the upstream base to compare against.

``uname -r`` strings carry the upstream version plus a distribution's packaging suffix::

    3.10.20-11.el6.centos.alt.x86_64   CentOS 6 "alt" (Xen4CentOS) build of upstream 3.10.20
    3.10.0-1160.el7.x86_64              RHEL/CentOS 7: 3.10 base, thousands of backports
    4.18.0-425.13.1.el8_7.x86_64        RHEL 8.7
    6.8.7-300.fc40.x86_64               Fedora 40, upstream 6.8.7
    6.1.0-47-amd64                      Debian: "6.1.0" is the ABI series, 47 the ABI number;
                                        the upstream sublevel is the package version (6.1.170)
    6.12.117+deb12-amd64                Debian (newer scheme): upstream 6.12.117
    5.15.0-91-generic                   Ubuntu: ABI 91 of the 5.15 series
    6.9.0-rc3, 6.1.0, 6.1.0+            vanilla / self-built

:func:`parse_release` is a pure function over the text.  :func:`system_package_version`
asks the local system (dpkg, the package's changelog, ``/proc/version``) for the Debian
package version when the ABI string alone does not name the upstream sublevel.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import replace
from pathlib import Path

from kmend import proc
from kmend._compat import dataclass
from kmend.errors import KmendError, UsageError

ARCHES = frozenset({"x86_64", "aarch64", "ppc64le", "ppc64", "s390x", "i686", "i386", "armv7hl"})
DEBIAN_FLAVORS = frozenset({
    "amd64", "arm64", "686", "686-pae", "armmp", "armmp-lpae", "cloud-amd64", "cloud-arm64",
    "rt-amd64", "rt-arm64", "rt-686-pae", "rt-armmp", "marvell", "rpi", "s390x",
    "powerpc64le", "4kc-malta", "5kc-malta", "octeon", "loongson-3", "mips32r2el",
    "mips64r2el", "riscv64", "586", "486", "armel",
})
UBUNTU_FLAVORS = frozenset({
    "generic", "lowlatency", "generic-64k", "generic-lpae", "lowlatency-64k", "aws", "azure",
    "gcp", "gke", "oracle", "kvm", "raspi", "ibm", "nvidia", "nvidia-64k", "intel-iotg",
    "oem", "virtual", "server", "realtime", "fips", "aws-fips", "azure-fips",
})
SUSE_FLAVORS = frozenset({"default", "azure", "rt", "64kb", "kvmsmall", "preempt"})
#: Distributions that carry large numbers of backports on an old base version, so a fix
#: absent from the base tag may still be in the distro kernel.
#: RHEL-family kernels keep the ``X.Y.0`` of their base for a decade (3.10.0-1160.el7);
#: an el6 build of a real stable sublevel (Xen4CentOS's 3.10.20-11.el6.centos.alt) is not one.
HEAVY_BACKPORT = {"rhel", "centos", "oracle-uek", "sles"}

_VERSION = r"(?P<maj>\d+)\.(?P<min>\d+)(?:\.(?P<sub>\d+))?"
_RPM_RE = re.compile(
    rf"^{_VERSION}-(?P<rel>[0-9][0-9.]*?)\.(?P<dist>el\d+(?:_\d+)?(?:uek)?|fc\d+|amzn\d+|"
    r"an\d+(?:_\d+)?|oe\d+\w*|mga\d+)(?P<extra>(?:\.[A-Za-z_][\w]*)*?)"
    r"(?:\.(?P<arch>x86_64|aarch64|ppc64le|ppc64|s390x|i686|i386|armv7hl))?"
    r"(?:[+.](?P<variant>debug|kdump|rt|64k|PAE|xen))?$"
)
_DEB_NEW_RE = re.compile(rf"^{_VERSION}\+deb(?P<debrel>\d+)(?:-(?P<flavor>[a-z0-9-]+))?$")
_ABI_RE = re.compile(rf"^{_VERSION}-(?P<abi>\d+)(?:\.(?P<abi2>\d+))?-(?P<flavor>[a-z0-9-]+)$")
_SUSE_RE = re.compile(rf"^{_VERSION}-(?P<rel>\d+(?:\.\d+)+)-(?P<flavor>[a-z0-9]+)$")
_ARCH_RE = re.compile(rf"^{_VERSION}-(?P<rel>arch\d+-\d+|zen\d+-\d+-zen|lts\d*-?\d*)$")
_VANILLA_RE = re.compile(
    rf"^v?{_VERSION}(?:-rc(?P<rc>\d+))?(?P<local>(?:[+-][\w.+~-]*)?)$"
)


@dataclass(frozen=True, slots=True)
class KernelRelease:
    """A parsed ``uname -r``.

    ``upstream`` is the upstream version the kernel is built from, as exactly as the string
    (plus ``package_version`` when known) allows: ``(3, 10, 20)``; ``(6, 1, 0)`` for
    Debian's ``6.1.0-47-amd64`` until the package version says ``6.1.170``.  ``exact`` says
    whether the sublevel is known rather than an ABI-series placeholder.
    """

    raw: str
    upstream: tuple[int, ...]
    distro: str | None
    flavor: str | None
    arch: str | None
    rc: int | None = None
    distro_release: str | None = None
    package_version: str | None = None
    exact: bool = True

    @property
    def series(self) -> tuple[int, int]:
        return (self.upstream[0], self.upstream[1])

    @property
    def heavy_backports(self) -> bool:
        family = (self.distro or "").rstrip("0123456789")
        if family in {"rhel", "centos"}:
            sub = self.upstream[2] if len(self.upstream) > 2 else 0
            return sub == 0
        return family in HEAVY_BACKPORT

    def with_package_version(self, version: str) -> KernelRelease:
        """The same release with its upstream sublevel taken from a package version."""
        m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
        if m is None or (int(m[1]), int(m[2])) != self.series:
            raise UsageError(
                f"package version {version!r} does not match kernel series "
                f"{self.series[0]}.{self.series[1]}",
                "give the version of the kernel image package (e.g. 6.1.170-3)",
            )
        upstream = (int(m[1]), int(m[2]), int(m[3] or 0))
        return replace(self, upstream=upstream, package_version=version.strip(), exact=True)


def _rpm_distro(dist: str, extra: str) -> str:
    if dist.startswith("el"):
        major = re.match(r"el(\d+)", dist)
        n = major[1] if major else ""
        if dist.endswith("uek"):
            return "oracle-uek"
        if "centos" in extra:
            return f"centos{n}"
        return f"rhel{n}"
    if dist.startswith("fc"):
        return "fedora"
    if dist.startswith("amzn"):
        return "amazon"
    return dist.rstrip("0123456789_")


def _version(m: re.Match[str]) -> tuple[int, int, int]:
    return (int(m["maj"]), int(m["min"]), int(m["sub"] or 0))


def parse_release(raw: str) -> KernelRelease:
    """Parse a kernel release string; UsageError (exit 2) when it is not one."""
    text = raw.strip()
    if m := _RPM_RE.match(text):
        distro = _rpm_distro(m["dist"], m["extra"] or "")
        return KernelRelease(
            raw=text, upstream=_version(m), distro=distro, flavor=m["variant"],
            arch=m["arch"], distro_release=f"{m['rel']}.{m['dist']}{m['extra'] or ''}",
        )
    if m := _DEB_NEW_RE.match(text):
        return KernelRelease(
            raw=text, upstream=_version(m), distro="debian", flavor=m["flavor"],
            arch=_flavor_arch(m["flavor"]), distro_release=f"deb{m['debrel']}",
        )
    if m := _ABI_RE.match(text):
        flavor = m["flavor"]
        abi_distro: str | None = ("ubuntu" if flavor in UBUNTU_FLAVORS or m["abi2"]
                  else "debian" if flavor in DEBIAN_FLAVORS else None)
        return KernelRelease(
            raw=text, upstream=_version(m), distro=abi_distro, flavor=flavor,
            arch=_flavor_arch(flavor), distro_release=m["abi"],
            exact=m["sub"] not in (None, "0"),
        )
    if (m := _SUSE_RE.match(text)) and m["flavor"] in SUSE_FLAVORS:
        return KernelRelease(raw=text, upstream=_version(m), distro="sles",
                             flavor=m["flavor"], arch=None, distro_release=m["rel"])
    if m := _ARCH_RE.match(text):
        return KernelRelease(raw=text, upstream=_version(m), distro="arch", flavor=None,
                             arch="x86_64", distro_release=m["rel"])
    if m := _VANILLA_RE.match(text):
        return KernelRelease(
            raw=text, upstream=_version(m), distro=None, flavor=None, arch=None,
            rc=int(m["rc"]) if m["rc"] else None,
            distro_release=(m["local"] or None),
        )
    raise UsageError(
        f"cannot parse kernel release {raw!r}",
        "give a release like 3.10.20-11.el6.x86_64 or 6.1.0-47-amd64, or an upstream tag "
        "(v3.10.20) with --base",
    )


def _flavor_arch(flavor: str | None) -> str | None:
    if flavor is None:
        return None
    for part in reversed(flavor.split("-")):
        if part in {"amd64", "arm64", "686", "s390x", "armmp", "powerpc64le", "riscv64"}:
            return {"amd64": "x86_64", "arm64": "aarch64", "686": "i686"}.get(part, part)
    return None


def upstream_tag(rel: KernelRelease) -> str:
    """The upstream git tag of the base: v3.10.20, v3.10 (for x.y.0), v6.9-rc3."""
    major, minor = rel.series
    sub = rel.upstream[2] if len(rel.upstream) > 2 else 0
    if rel.rc is not None:
        return f"v{major}.{minor}-rc{rel.rc}"
    if sub == 0:
        return f"v{major}.{minor}"
    return f"v{major}.{minor}.{sub}"


def stable_branch(rel: KernelRelease) -> str:
    """The linux-stable branch of the base's series: linux-3.10.y."""
    return f"linux-{rel.series[0]}.{rel.series[1]}.y"


def warnings_for(rel: KernelRelease) -> list[str]:
    """What the operator must know about comparing this kernel against its upstream tag."""
    notes: list[str] = []
    if rel.heavy_backports:
        notes.append(
            f"{rel.raw} is a {rel.distro} kernel carrying many backports on top of "
            f"{upstream_tag(rel)}: a fix missing from the upstream base may still be in it "
            "(check the distro's package changelog)"
        )
    if not rel.exact:
        notes.append(
            f"{rel.raw} names the ABI series {rel.series[0]}.{rel.series[1]}, not the upstream "
            f"sublevel; comparing against {upstream_tag(rel)} (give --base with the package "
            "version, e.g. 6.1.170, to be exact)"
        )
    if rel.distro_release and rel.distro is None and rel.rc is None:
        notes.append(f"{rel.raw} carries a local suffix; assuming upstream {upstream_tag(rel)}")
    return notes


def changelog_check(rel: KernelRelease, subject: str) -> str | None:
    """A command that tells whether the distro kernel *rel* lists a fix by its subject.

    RHEL-family changelogs and Debian's (which lists every stable commit it imports) name
    backported commits by subject, so a fix missing from the upstream base can be found
    there.
    """
    quoted = "'" + subject.replace("'", "'\\''") + "'"
    family = (rel.distro or "").rstrip("0123456789")
    if family in {"rhel", "centos", "fedora", "oracle-uek"} and rel.arch:
        version = rel.raw.removesuffix(f".{rel.arch}")
        return f"rpm -q --changelog kernel-{version} | grep -F -e {quoted}"
    if rel.distro in {"debian", "ubuntu"}:
        return (f"zgrep -F -e {quoted} /usr/share/doc/linux-image-{rel.raw}/changelog*.gz")
    return None


# -- what the local system says about a release ----------------------------------------
_PKG_VERSION_RE = re.compile(r"\b(\d+\.\d+(?:\.\d+)?)[-+~][\w.+~]*")


def _version_from_changelog(path: Path) -> str | None:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            head = [fh.readline() for _ in range(4)]
    except OSError:
        return None
    # "linux (6.1.170-3) bookworm-security; ..." or the signed wrapper, whose first entry
    # says "Sign kernel from linux 6.1.170-3".
    for line in head[1:]:
        m = re.search(r"from linux (\d+\.\d+(?:\.\d+)?\S*)", line)
        if m:
            return m[1]
    m = re.match(r"^\S+ \(([^)]+)\)", head[0] if head else "")
    return m[1] if m else None


def system_package_version(release: str, root: Path = Path("/")) -> str | None:
    """The Debian/Ubuntu package version of *release* when this system knows it.

    Tried in order: ``dpkg-query`` on ``linux-image-R`` (and ``-unsigned``), the package's
    ``changelog.Debian.gz``/``changelog.gz`` under ``/usr/share/doc``, and, for the
    running kernel, ``/proc/version`` (``... Debian 6.1.170-3 (date)``) or Ubuntu's
    ``/proc/version_signature`` (whose last field is the upstream version).
    """
    if root == Path("/"):
        for pkg in (f"linux-image-{release}", f"linux-image-{release}-unsigned"):
            try:
                res = proc.run(["dpkg-query", "-W", "-f=${Version}", "--", pkg],
                               timeout=30, check=False)
            except KmendError:
                break
            if res.ok and res.stdout.strip():
                return res.stdout.strip()
    for pkg in (f"linux-image-{release}", f"linux-image-{release}-unsigned"):
        for name in ("changelog.Debian.gz", "changelog.gz"):
            found = _version_from_changelog(root / "usr/share/doc" / pkg / name)
            if found:
                return found
    if root == Path("/") and os.uname().release == release:
        try:
            sig = Path("/proc/version_signature").read_text(encoding="utf-8").split()
            if sig:
                return sig[-1]
        except OSError:
            pass
        try:
            text = Path("/proc/version").read_text(encoding="utf-8")
        except OSError:
            return None
        m = re.search(r"\b(?:Debian|Ubuntu)\s+(\d+\.\d+(?:\.\d+)?[-+~][\w.+~]*)", text)
        if m:
            return m[1]
    return None


def resolve_release(raw: str, *, package_version: str | None = None,
                    ask_system: bool = True) -> KernelRelease:
    """Parse *raw* and, when its sublevel is an ABI placeholder, fill it in from
    *package_version* or from this system's package database."""
    rel = parse_release(raw)
    if package_version:
        return rel.with_package_version(package_version)
    if not rel.exact and ask_system:
        found = system_package_version(rel.raw)
        if found:
            try:
                return rel.with_package_version(found)
            except UsageError:
                return rel
    return rel
