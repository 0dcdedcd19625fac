"""Log ingestion: open any log and yield LogLine records with containers stripped."""

from kmend.logs.model import LogLine

__all__ = ["LogLine"]
