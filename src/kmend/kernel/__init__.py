"""The target kernel: release, headers tree, config, Module.symvers (KernelTarget)."""
