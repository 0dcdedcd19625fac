"""Kernel release model and build targets."""
