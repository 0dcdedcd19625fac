"""Fixes that survive kernel upgrades: ``kmend rebuild --kernel R`` (carry every active
fix over to R, or retire it when R contains the fix) and the kernel-upgrade hooks that
call it.  The provenance record it reads is :mod:`kmend.provenance` (a leaf module, so
backport, build and install write it without importing this package).

Modules: ``contains`` (version containment, pure), ``sources`` (finding the sources
again), ``describe`` (the provenance ``kmend build`` writes), ``signing``, ``engine`` (the
rebuild), ``hooks`` (postinst.d / kernel-install scripts).
"""
