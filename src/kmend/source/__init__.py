"""Kernel source access: git repositories (local or partial clone) and unpacked trees."""
