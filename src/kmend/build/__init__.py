"""Out-of-tree module builds against a kernel's headers, and their diagnostics."""
