"""Kernel release model (release.py) and the target kernel: headers tree, config,
Module.symvers (target.py, KernelTarget)."""
