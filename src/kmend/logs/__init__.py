"""Log ingestion: open any log and yield LogLine records with containers stripped.

* :func:`read_paths` — files, directories (recursive; rotated logs oldest first) and ``-``
  for stdin; gzip/xz/bzip2/zstd recognised by their magic bytes; streaming, bounded memory.
* :func:`iter_stream` — one binary stream.
* :func:`parse_text` — an in-memory text.

Containers are recognised per line (a file may mix them): RFC3164/RFC3339 syslog (kernel
messages only), journalctl short/-iso/-precise/-monotonic, ``-o json`` and ``-o export``,
``dmesg`` and ``dmesg -T``, console prefixes (``<N>``, ``[ time]``, ``[T123]``/``[C3]``,
syzkaller's decorations), ``/dev/kmsg`` and netconsole records, rsyslog ``#012`` escapes;
flattened reports are re-split (``kmend.logs.flatten``).

With ``prefilter=True`` only the lines near a crash needle (``kmend.logs.needles``) are
parsed, for speed on huge logs — in a multi-host syslog only the lines of the hosts whose
kernel lines hit one (``kmend.logs.prefilter``); the crash reports found are the same as
with a full parse.  Inputs larger than one 8 MiB block are searched by a forked second
process (``kmend.logs.worker``).  Unreadable inputs raise
:class:`kmend.errors.InputError`.
"""

from kmend.logs.model import LogLine
from kmend.logs.reader import iter_stream, parse_text, read_paths

__all__ = ["LogLine", "iter_stream", "parse_text", "read_paths"]
