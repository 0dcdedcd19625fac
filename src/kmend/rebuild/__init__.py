"""Fixes that survive kernel upgrades: provenance (where a fix's sources are), ``kmend
rebuild --kernel R`` (carry every active fix over to R, or retire it when R contains the
fix) and the kernel-upgrade hooks that call it.

Modules: :mod:`~kmend.rebuild.provenance` (the JSON record, pure), ``contains`` (version
containment, pure), ``sources`` (finding the sources again), ``signing``, ``engine`` (the
rebuild), ``hooks`` (postinst.d / kernel-install scripts).  This package's ``__init__``
imports nothing, so the install library can use ``provenance`` without a cycle.
"""
