"""The host a log file belongs to by where it lies, for lines that name none.

A central log server files each client's log under a directory named after it: rsyslog's
``/var/log/HOST/messages`` or ``/var/log/hosts/HOST/syslog.log``, a collector's
``remote/HOST/console.log``.  Console captures, ``dmesg`` output and forwarded kernel
text carry no host of their own, so the directory name is the only one there is.  A
directory name is taken as a host only where the layout says so: the component after a
``hosts``/``remote``/``clients``/``nodes``/``machines``/``servers`` directory, or the
directory of a kernel or system log file directly under a ``log``/``logs`` directory
(``/var/log/HOST/messages``) that is not one of the usual per-program log directories.
"""

from __future__ import annotations

import os
import re

#: Directories whose subdirectories are named after hosts.
HOSTS_PARENTS = frozenset({"hosts", "remote", "remotes", "clients", "nodes", "machines", "servers"})
#: Directories whose subdirectories may be hosts (``/var/log/HOST/messages``).
LOG_DIRS = frozenset({"log", "logs"})
#: Subdirectories of /var/log that belong to a program, not to a host.
PROGRAM_DIRS = frozenset({
    "journal", "apt", "installer", "private", "sa", "sysstat", "apache2", "nginx", "httpd",
    "audit", "cups", "libvirt", "xen", "samba", "mysql", "postgresql", "exim4", "mail",
    "unattended-upgrades", "dist-upgrade", "runit", "sssd", "chrony", "ntpstats", "lightdm",
    "gdm3", "speech-dispatcher", "openvswitch", "pve", "ceph", "kern", "kernel", "old",
    "archive", "rotated", "remote", "hosts",
})  # fmt: skip
#: Files holding kernel messages in such a directory (rotation and compression suffixes
#: are allowed after the name).
_LOG_FILE_RE = re.compile(
    r"^(?:messages|syslog|kern(?:el)?|console|dmesg|serial|all|boot)(?:\.log)?"
    r"(?:[.-][\w.-]*)?$"
)
#: A host name (RFC 1123 letters, digits, dots and dashes) that is not a date or a number
#: (``log/2026/``, ``log/2026-12/`` are archives by time).
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")  # rsyslog's %FROMHOST-IP%
_HOST_RE = re.compile(r"^(?![\d.-]+$)[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")


def host_from_path(path: str) -> str | None:
    """The host *path* is filed under, or None when its place says nothing."""
    parts = [p for p in os.path.normpath(os.path.abspath(path)).split(os.sep) if p]
    dirs = parts[:-1]
    for i in range(len(dirs) - 1, 0, -1):
        if dirs[i - 1].lower() in HOSTS_PARENTS and (
            _HOST_RE.match(dirs[i]) or _IPV4_RE.match(dirs[i])
        ):
            return dirs[i]
    if len(dirs) >= 2 and _LOG_FILE_RE.match(parts[-1]):
        host, parent = dirs[-1], dirs[-2]
        if (
            parent.lower() in LOG_DIRS
            and host.lower() not in PROGRAM_DIRS
            and host.lower() not in LOG_DIRS
            and _HOST_RE.match(host)
        ):
            return host
    return None
