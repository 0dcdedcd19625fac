"""Crash extraction and decoding."""
