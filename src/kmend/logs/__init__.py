"""Log ingestion: open any log and yield LogLine records with containers stripped.

* :func:`read_paths` — files, directories (recursive; rotated logs oldest first) and ``-``
  for stdin; gzip/xz/bzip2/zstd recognised by their magic bytes; streaming, bounded memory.
* :func:`iter_stream` — one binary stream.
* :func:`parse_text` — an in-memory text.

With ``prefilter=True`` only the lines near a crash needle (``kmend.oops.needles``) are
parsed, for speed on huge logs.  Unreadable inputs raise :class:`kmend.errors.InputError`.
"""

from kmend.logs.model import LogLine
from kmend.logs.reader import iter_stream, parse_text, read_paths

__all__ = ["LogLine", "iter_stream", "parse_text", "read_paths"]
