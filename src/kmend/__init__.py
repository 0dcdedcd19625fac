"""kmend: from a kernel crash in a log to a verified, installed, roll-back-able module fix."""

__version__ = "0.1.0"
