from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kmend.errors import UsageError
from kmend.kernel.release import (
    parse_release,
    stable_branch,
    system_package_version,
    upstream_tag,
    warnings_for,
)


@pytest.mark.parametrize(
    ("raw", "upstream", "distro", "flavor", "arch", "tag", "exact"),
    [
        ("3.10.20-11.el6.centos.alt.x86_64", (3, 10, 20), "centos6", None, "x86_64",
         "v3.10.20", True),
        ("3.10.0-1160.el7.x86_64", (3, 10, 0), "rhel7", None, "x86_64", "v3.10", True),
        ("4.18.0-425.13.1.el8_7.x86_64", (4, 18, 0), "rhel8", None, "x86_64", "v4.18", True),
        ("5.14.0-70.13.1.el9_0.x86_64+debug", (5, 14, 0), "rhel9", "debug", "x86_64",
         "v5.14", True),
        ("6.8.7-300.fc40.x86_64", (6, 8, 7), "fedora", None, "x86_64", "v6.8.7", True),
        ("6.1.0-47-amd64", (6, 1, 0), "debian", "amd64", "x86_64", "v6.1", False),
        ("5.10.0-28-cloud-amd64", (5, 10, 0), "debian", "cloud-amd64", "x86_64", "v5.10",
         False),
        ("6.12.117+deb12-amd64", (6, 12, 117), "debian", "amd64", "x86_64", "v6.12.117", True),
        ("5.15.0-91-generic", (5, 15, 0), "ubuntu", "generic", None, "v5.15", False),
        ("5.15.0-1051-aws", (5, 15, 0), "ubuntu", "aws", None, "v5.15", False),
        ("5.14.21-150500.55.19-default", (5, 14, 21), "sles", "default", None, "v5.14.21",
         True),
        ("6.6.1-arch1-1", (6, 6, 1), "arch", None, "x86_64", "v6.6.1", True),
        ("6.1.0", (6, 1, 0), None, None, None, "v6.1", True),
        ("3.10.20", (3, 10, 20), None, None, None, "v3.10.20", True),
        ("v3.10.20", (3, 10, 20), None, None, None, "v3.10.20", True),
        ("6.9.0-rc3", (6, 9, 0), None, None, None, "v6.9-rc3", True),
        ("6.9.0-rc3+", (6, 9, 0), None, None, None, "v6.9-rc3", True),
    ],
)
def test_parse_release(raw: str, upstream: tuple[int, ...], distro: str | None,
                       flavor: str | None, arch: str | None, tag: str, exact: bool) -> None:
    rel = parse_release(raw)
    assert rel.raw == raw
    assert rel.upstream == upstream
    assert rel.distro == distro
    assert rel.flavor == flavor
    assert rel.arch == arch
    assert upstream_tag(rel) == tag
    assert rel.exact is exact


@pytest.mark.parametrize("raw", ["", "banana", "3", "linux-3.10", "x.y.z-1.el7"])
def test_unparseable_release_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_release(raw)
    assert info.value.exit_code == 2
    assert info.value.hint


def test_package_version_makes_debian_release_exact() -> None:
    rel = parse_release("6.1.0-47-amd64").with_package_version("6.1.170-3")
    assert rel.upstream == (6, 1, 170)
    assert rel.exact
    assert upstream_tag(rel) == "v6.1.170"
    assert stable_branch(rel) == "linux-6.1.y"
    with pytest.raises(UsageError):
        parse_release("6.1.0-47-amd64").with_package_version("6.12.117-1")


@pytest.mark.parametrize(
    ("raw", "heavy"),
    [("3.10.0-1160.el7.x86_64", True), ("4.18.0-425.13.1.el8_7.x86_64", True),
     ("5.14.0-362.8.1.el9_3.x86_64", True), ("3.10.20-11.el6.centos.alt.x86_64", False),
     ("6.8.7-300.fc40.x86_64", False), ("6.1.0", False)],
)
def test_heavy_backport_warning(raw: str, heavy: bool) -> None:
    rel = parse_release(raw)
    assert rel.heavy_backports is heavy
    assert any("backports" in w for w in warnings_for(rel)) is heavy


def test_abi_release_warns_that_the_sublevel_is_unknown() -> None:
    notes = warnings_for(parse_release("5.15.0-91-generic"))
    assert any("ABI" in n for n in notes)


def test_package_version_from_changelog(tmp_path: Path) -> None:
    doc = tmp_path / "usr/share/doc/linux-image-6.1.0-47-amd64"
    doc.mkdir(parents=True)
    with gzip.open(doc / "changelog.gz", "wt") as fh:
        fh.write("linux-signed-amd64 (6.1.170+3) bookworm-security; urgency=high\n\n"
                 "  * Sign kernel from linux 6.1.170-3\n")
    assert system_package_version("6.1.0-47-amd64", root=tmp_path) == "6.1.170-3"
    other = tmp_path / "usr/share/doc/linux-image-6.1.0-57-amd64-unsigned"
    other.mkdir(parents=True)
    with gzip.open(other / "changelog.Debian.gz", "wt") as fh:
        fh.write("linux (6.1.192-3) bookworm-security; urgency=high\n")
    assert system_package_version("6.1.0-57-amd64", root=tmp_path) == "6.1.192-3"
    assert system_package_version("6.1.0-99-amd64", root=tmp_path) is None


def test_changelog_check_commands() -> None:
    from kmend.kernel.release import changelog_check

    rhel = changelog_check(parse_release("3.10.0-1160.el7.x86_64"), "x: don't crash")
    assert rhel == ("rpm -q --changelog kernel-3.10.0-1160.el7 | grep -F -e "
                    "'x: don'\\''t crash'")
    deb = changelog_check(parse_release("6.1.0-47-amd64"), "xen/evtchn: fix")
    assert deb == ("zgrep -F -e 'xen/evtchn: fix' "
                   "/usr/share/doc/linux-image-6.1.0-47-amd64/changelog*.gz")
    assert changelog_check(parse_release("6.1.0"), "x") is None
