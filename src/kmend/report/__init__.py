"""Renderers: JSON and terminal text."""
