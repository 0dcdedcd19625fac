"""Stand-in kernel sources and history shape for scripts/make-kernel-history.py."""
